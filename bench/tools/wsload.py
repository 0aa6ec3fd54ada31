"""WebSocket round trips: C clients, each sends a frame and awaits the answer, for D seconds.

    python bench/tools/wsload.py URL -c 50 -d 10 -p 1 [--message JSON] [--header 'Name: value']

Prints one JSON line: rtt_per_s, p50_ms, p99_ms, errors, client_cpu_s. (The
load client of shared/research/performance.md, with the frame, headers and
the check on the answer as options.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import resource
import time
from typing import Any


async def client(args: argparse.Namespace, t_end: float, lats: list[float], errors: list[str]) -> None:
    from websockets.asyncio.client import connect

    headers = dict(h.split(": ", 1) for h in args.header)
    try:
        async with connect(args.url, compression=None, max_queue=None, additional_headers=headers) as ws:
            pc = time.perf_counter
            reply: Any = None
            while True:
                t0 = pc()
                if t0 >= t_end:
                    break
                await ws.send(args.message)
                reply = await ws.recv()
                lats.append(pc() - t0)
            if reply is not None and json.loads(reply).get("value") != args.expect:
                errors.append(f"bad answer {reply[:80]}")
    except Exception as exc:  # noqa: BLE001 - counted and reported
        errors.append(repr(exc)[:120])


def worker(args: argparse.Namespace, n: int, t_start: float, q: Any) -> None:
    import uvloop

    async def main() -> tuple[list[float], list[str]]:
        while time.time() < t_start:
            await asyncio.sleep(0.005)
        t_end = time.perf_counter() + args.d
        lats: list[float] = []
        errors: list[str] = []
        await asyncio.gather(*(client(args, t_end, lats, errors) for _ in range(n)))
        return lats, errors

    lats, errors = uvloop.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    q.put((lats, errors, usage.ru_utime + usage.ru_stime))


def pct(s: list[float], p: float) -> float:
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))] if s else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("-c", type=int, default=50)
    ap.add_argument("-d", type=float, default=10.0)
    ap.add_argument("-p", type=int, default=1)
    ap.add_argument("--message", default=json.dumps({"x": 1.5, "y": 2.25}))
    ap.add_argument("--expect", type=float, default=3.375)
    ap.add_argument("--header", action="append", default=[])
    args = ap.parse_args()
    q: Any = mp.Queue()
    t_start = time.time() + 0.5
    per = [args.c // args.p + (1 if i < args.c % args.p else 0) for i in range(args.p)]
    procs = [mp.Process(target=worker, args=(args, n, t_start, q)) for n in per]
    for p in procs:
        p.start()
    res = [q.get() for _ in procs]
    for p in procs:
        p.join()
    lats = sorted(lat for r in res for lat in r[0])
    errors = [e for r in res for e in r[1]]
    print(json.dumps({"rtt_per_s": len(lats) / args.d, "p50_ms": pct(lats, 50) * 1e3, "p99_ms": pct(lats, 99) * 1e3,
                      "errors": len(errors), "first_errors": errors[:3],
                      "client_cpu_s": round(sum(r[2] for r in res), 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
