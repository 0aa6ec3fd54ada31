"""The plain `websockets` reference for bench/fleet.py: answers every frame with a Welcome
carrying the frame's id, nothing else (no authentication, no database, no channel layer).

python bench/tools/ws_hello.py PORT
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys

import uvloop
from websockets.asyncio.server import ServerConnection, serve


async def handler(ws: ServerConnection) -> None:
    async for text in ws:
        await ws.send(json.dumps({"type": "Welcome", "id": json.loads(text).get("id")}))


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, backlog=2048):
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(main(int(sys.argv[1])))
