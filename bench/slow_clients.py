"""Latency of normal requests while clients stall mid-headers or mid-body, ours beside no defence.

For 0, 200 and 1,000 stalled clients (half stopped in their headers, half in a
POST body), 4 threads send authenticated GET /api/feeders for a fixed time;
a request that takes over 3 s counts as failed. "ours" is the production web
process (catfeeder.runtime.webserver, as `manage.py serve` runs it); "no defence" is
plain uvicorn serving Django through a2wsgi (bench/undefended.py), as before
bodies were read in the event loop. Loopback only, every loop bounded.

    .venv/bin/python bench/slow_clients.py [--seconds 6] [--stalled 0,200,1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import ROOT, bench_env, login, owner_create, web_servers, web_servers_stop  # noqa: E402

FEEDERS = 20
THREADS = 4  # normal clients
REQUEST_TIMEOUT = 3.0  # seconds: slower counts as failed
STALL_FOR = 120  # seconds the server's head and body deadlines allow here: the stalls outlast a measurement


def prepare_data() -> None:
    owner = owner_create()
    from apps.feeders.services.devices import feeder_create
    from apps.households.services import household_for_write

    household = household_for_write(user=owner, household_id=None)
    for n in range(FEEDERS):
        feeder_create(household=household, name=f"Feeder {n}", mac=f"F0:00:00:00:00:{n:02X}", city="Lyon")


class Stallers:
    """`count` connections that send part of a request and then nothing, held in a loop of their own."""

    def __init__(self, port: int, count: int, token: str) -> None:
        self.port, self.count, self.token = port, count, token
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.writers: list[asyncio.StreamWriter] = []
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def partial(self, n: int) -> bytes:
        if n % 2:
            return b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a"
        head = (f"POST /api/pets HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Session-Token: {self.token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n")  # fmt: skip
        return head.encode() + b'{"name": '

    async def open(self) -> None:
        for start in range(0, self.count, 100):  # in batches: the listen backlog is not the point here
            opened = await asyncio.gather(
                *(asyncio.open_connection("127.0.0.1", self.port) for _ in range(start, min(start + 100, self.count)))
            )
            for n, (_, writer) in enumerate(opened, start):
                writer.write(self.partial(n))
                await writer.drain()
                self.writers.append(writer)

    def __enter__(self) -> Stallers:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.open(), self.loop).result(timeout=120)
        time.sleep(1.0)  # the server has read every partial request
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            for writer in self.writers:
                writer.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        time.sleep(1.0)  # the server notices the closed connections


def measure(url: str, token: str, seconds: float) -> tuple[list[float], int]:
    """Latencies (ms) of the requests that answered 200 within REQUEST_TIMEOUT, and how many did not."""
    deadline = time.monotonic() + seconds

    def client() -> tuple[list[float], int]:
        times, failed = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            request = urllib.request.Request(url, headers={"X-Session-Token": token})  # noqa: S310 - loopback
            try:
                with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
                    response.read()
                    ok = response.status == 200
            except (urllib.error.URLError, OSError):
                ok = False
            if ok:
                times.append((time.perf_counter() - started) * 1000)
            else:
                failed += 1
        return times, failed

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda _: client(), range(THREADS)))
    return [t for times, _ in results for t in times], sum(failed for _, failed in results)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run_against(name: str, start: Callable[[int], Callable[[], None]], counts: list[int], seconds: float,
                rows: dict[tuple[str, int], str]) -> None:  # fmt: skip
    from catfeeder.testing import free_port, http_ok, wait_until

    port = free_port()
    stop = start(port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{base}/health/live"), timeout=60, what=f"{name} server")
        token = login(base)
        url = f"{base}/api/feeders?limit={FEEDERS}"
        measure(url, token, 1.0)  # warm-up
        for count in counts:
            with Stallers(port, count, token):
                times, failed = measure(url, token, seconds)
            rows[(name, count)] = (
                f"{percentile(times, 50):>8.1f} {percentile(times, 99):>8.1f} {len(times):>6} {failed:>6}"
            )
    finally:
        stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--stalled", default="0,200,1000")
    args = parser.parse_args()
    counts = [int(n) for n in args.stalled.split(",")]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))  # 1,000 stalls a side
    env = bench_env()
    env.update(HTTP_HEADER_TIMEOUT=str(STALL_FOR), HTTP_BODY_TIMEOUT=str(STALL_FOR))
    os.environ.update(env)
    from apps.infra.embedded_redis import EmbeddedRedis

    redis = EmbeddedRedis(Path(env["CATFEEDER_VAR_DIR"]))
    redis.start()
    prepare_data()

    def ours(port: int) -> Callable[[], None]:
        listening, servers = web_servers(port, env)
        return lambda: web_servers_stop(listening, servers)

    def undefended(port: int) -> Callable[[], None]:
        argv = [sys.executable, "-m", "uvicorn", "bench.undefended:application", "--port", str(port),
                "--http", "httptools", "--lifespan", "off", "--log-level", "warning", "--no-access-log"]  # fmt: skip
        server = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def stop() -> None:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

        return stop

    rows: dict[tuple[str, int], str] = {}
    try:
        run_against("ours", ours, counts, args.seconds, rows)
        run_against("no defence", undefended, counts, args.seconds, rows)
    finally:
        redis.stop()
        shutil.rmtree(env["CATFEEDER_VAR_DIR"], ignore_errors=True)

    print(f"slow_clients: GET /api/feeders, {THREADS} client threads x {args.seconds:g}s per row, "
          f"failed = no 200 within {REQUEST_TIMEOUT:g}s; stalled: half mid-headers, half mid-body")  # fmt: skip
    print(f"{'server':<11} {'stalled':>7} {'p50 ms':>8} {'p99 ms':>8} {'ok':>6} {'failed':>6}")
    for (name, count), row in rows.items():
        print(f"{name:<11} {count:>7} {row}")


if __name__ == "__main__":
    main()
