# check: check_parser(MyParser)
import codecs
import re

from sse_lab.protocol import Event

LINE_END = re.compile(r"\r\n|\r|\n")  # the only three line endings SSE knows


class MyParser:
    """A spec-correct event-stream decoder, written from scratch."""

    def __init__(self):
        self.last_event_id, self.retry = "", None
        self._start()

    def _start(self):  # state of one connection
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")  # keeps split characters
        self._tail = ""  # the unfinished last line
        self._at_start = True  # one BOM is stripped, only at the very start
        self._after_cr = False  # the last chunk ended with CR: skip an LF that follows
        self._data, self._type, self._id, self._retry = [], "", self.last_event_id, None

    def feed(self, chunk):
        text = self._utf8.decode(chunk)
        if not text:
            return []
        if self._at_start:
            self._at_start, text = False, text.removeprefix("\ufeff")
        if self._after_cr and text.startswith("\n"):
            text = text[1:]  # the second half of a CRLF cut in two
        self._after_cr = text.endswith("\r")  # a CR ends its line at once
        *lines, self._tail = LINE_END.split(self._tail + text)
        events = []
        for line in lines:
            self._line(line, events)
        return events

    def close(self):
        self._start()  # a block without its blank line is discarded
        return []

    def _line(self, line, events):
        if line == "":  # a blank line dispatches the block
            self.last_event_id = self._id
            if self._data:
                events.append(Event(self._type or "message", "\n".join(self._data),
                                    self.last_event_id, self._retry))
            self._data, self._type, self._retry = [], "", None
            return
        name, colon, value = line.partition(":")
        if colon and name == "":
            return  # a comment
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = self._retry = int(value)
