# check: check_countdown(server)
import asyncio

from sse_lab.protocol import DONE
from sse_lab.server import SSEHandler


class Countdown(SSEHandler):
    """5, 4, 3, 2, 1, then [DONE]: one event every 0.2 s, each with an id."""

    async def stream(self):
        for n in range(5, 0, -1):
            await self.send(str(n), id=str(n))
            await asyncio.sleep(0.2)
        await self.send(DONE)


server.add_handler(r"/countdown", Countdown)
