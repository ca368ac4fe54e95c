# check: check_resume_handler(server, ResumeHandler, TOKENS)
import asyncio

import tornado.web
from tornado.iostream import StreamClosedError

from sse_lab.model import SimulatedLLM
from sse_lab.protocol import DONE, encode_event

TOKENS = SimulatedLLM().tokens("Why do AI chats stream?", 0)


class ResumeHandler(tornado.web.RequestHandler):
    async def get(self):
        # The three things SSEHandler would do for us: headers, flush, notice leaving.
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        last = self.request.headers.get("Last-Event-ID", "")
        start = int(last) + 1 if last.isdigit() else 0  # a bad id counts as none
        try:
            for k in range(start, len(TOKENS)):
                self.write(encode_event(TOKENS[k], id=str(k)))
                await self.flush()  # raises StreamClosedError once the client has gone
                await asyncio.sleep(0.02)
            self.write(encode_event(DONE))
            await self.flush()
        except StreamClosedError:
            return  # the reader left: stop generating
