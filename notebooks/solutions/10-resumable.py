# check: check_resumable(server)
# Notebook 10, exercise: an answer that resumes after Last-Event-ID instead of restarting.
from sse_lab.protocol import DONE
from sse_lab.server import SSEHandler


class ResumableAnswer(SSEHandler):
    def parse_arguments(self):
        self.prompt = self.get_argument("prompt", "hello")
        self.seed = int(self.get_argument("seed", "0"))
        last = self.request.headers.get("Last-Event-ID", "")
        # one past the last token the reader has; a fresh reader starts at 0
        self.start = int(last) + 1 if last.isascii() and last.isdigit() else 0

    async def stream(self):
        model = self.context.config.model
        async for token in model.stream(self.prompt, self.seed, start=self.start):
            await self.send(token.text, id=str(token.index))
        await self.send(DONE)


server.add_handler(r"/answer", ResumableAnswer)  # noqa: F821 - the notebook's server
