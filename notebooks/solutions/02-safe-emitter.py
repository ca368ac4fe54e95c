# check: check_safe_emitter(SafeEmitter)
def length(lead: int) -> int:
    """How many bytes the character starting with this lead byte has."""
    if lead >> 5 == 0b110:
        return 2
    if lead >> 4 == 0b1110:
        return 3
    if lead >> 3 == 0b11110:
        return 4
    return 1  # ASCII (or an invalid byte: decoded as U+FFFD at once)


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
                need = length(byte)
                if need > back:
                    cut = len(data) - back
                break
        self.pending = data[cut:]
        return data[:cut].decode("utf-8", errors="replace")

    def close(self) -> str:
        rest, self.pending = self.pending, b""
        return rest.decode("utf-8", errors="replace")
