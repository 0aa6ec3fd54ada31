"""The plain `websockets` reference: answers {"x", "y"} with {"value": x*y}, nothing else.

python bench/ws_echo.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys

import uvloop
from websockets.asyncio.server import ServerConnection, serve


async def handler(ws: ServerConnection) -> None:
    async for text in ws:
        message = json.loads(text)
        await ws.send(json.dumps({"value": message["x"] * message["y"]}))


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None):
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
