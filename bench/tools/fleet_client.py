"""Many feeders on one client process: each opens a device socket, says Hello and waits for Welcome.

    python bench/tools/fleet_client.py URL TOKENS_FILE [--concurrency 250]

Reads commands on stdin, one a line, and answers each with one JSON line on stdout:
- `connect`: every token's socket at once (at most --concurrency handshakes in flight):
  {"ok": n, "lost": n, "seconds": s, "errors": {...}}; a socket is lost when its handshake
  fails or it closes before its Welcome (no retry: a real feeder's retry would hide it);
- `count`: {"open": n}, the sockets still open (closed ones by the server count as gone);
- `close`: closes every socket, {"closed": n};
- `quit`: exits.
The sockets stay silent while open (no client pings): the server's idle cost is what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import resource
import sys
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

HELLO = json.dumps({"type": "Hello", "id": "hello", "firmware": "bench-1.0"})
HANDSHAKE_TIMEOUT = 120  # seconds: a storm queues; a socket still waiting by then counts as lost


class Fleet:
    def __init__(self, url: str, tokens: list[str], concurrency: int) -> None:
        self.url, self.tokens = url, tokens
        self.gate = asyncio.Semaphore(concurrency)
        self.open: list[ClientConnection] = []
        self.errors: collections.Counter[str] = collections.Counter()

    async def one(self, token: str) -> None:
        async with self.gate:
            try:
                async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                    ws = await connect(
                        self.url, additional_headers={"Authorization": f"Bearer {token}"},
                        compression=None, ping_interval=None, open_timeout=None, close_timeout=2,
                    )  # fmt: skip
                    await ws.send(HELLO)
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame.get("id") == "hello":
                            break
            except Exception as exc:  # noqa: BLE001 - counted and reported
                code = getattr(getattr(exc, "rcvd", None), "code", "")
                self.errors[f"{type(exc).__name__} {code}".strip()] += 1
                return
        if frame.get("type") == "Welcome":
            self.open.append(ws)
        else:
            self.errors[f"reply {frame.get('type')}/{frame.get('code')}"] += 1
            await ws.close()

    async def connect(self) -> dict[str, Any]:
        self.errors.clear()
        started = time.perf_counter()
        await asyncio.gather(*(self.one(token) for token in self.tokens))
        seconds = time.perf_counter() - started
        return {"ok": len(self.open), "lost": sum(self.errors.values()), "seconds": seconds, "errors": self.errors}

    async def close(self) -> dict[str, Any]:
        sockets, self.open = self.open, []
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        return {"closed": len(sockets)}


async def main(args: argparse.Namespace) -> None:
    with open(args.tokens) as file:
        tokens = file.read().split()
    fleet = Fleet(args.url, tokens, args.concurrency)
    loop = asyncio.get_running_loop()
    while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        if line == "connect":
            answer = await fleet.connect()
        elif line == "count":
            answer = {"open": sum(1 for ws in fleet.open if ws.close_code is None)}
        elif line == "close":
            answer = await fleet.close()
        else:
            break
        print(json.dumps(answer), flush=True)
    await fleet.close()


if __name__ == "__main__":
    import uvloop

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("tokens")
    parser.add_argument("--concurrency", type=int, default=250)
    uvloop.run(main(parser.parse_args()))
