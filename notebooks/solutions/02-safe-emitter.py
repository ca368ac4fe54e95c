# check: check_safe_emitter(SafeEmitter)
class SafeEmitter:
    """Byte tokens in, whole characters out: hold back half a character."""

    def __init__(self):
        self.pending = b""  # the bytes of a character that is not finished yet

    def feed(self, token: bytes) -> str:
        data = self.pending + token
        # A UTF-8 character is 1-4 bytes; a lead byte says how many. Walk back
        # from the end to the last lead byte and keep an unfinished character.
        cut = len(data)
        for back in range(1, min(4, len(data)) + 1):
            byte = data[-back]
            if byte & 0xC0 != 0x80:  # a lead byte (or ASCII), not a continuation
                need = 1 if byte < 0x80 else 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4 if byte >> 3 == 0b11110 else 1
                if need > back:
                    cut = len(data) - back
                break
        self.pending = data[cut:]
        return data[:cut].decode("utf-8", errors="replace")

    def close(self) -> str:
        rest, self.pending = self.pending, b""
        return rest.decode("utf-8", errors="replace")
