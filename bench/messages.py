"""Typed messages: our HTTP lean path against ansar-connect, our socket against plain `websockets`.

In one run:
- HTTP: `GET /api/messages/Multiply?x=1.5&y=2.25` on the production web process
  (`python -m catfeeder.runtime.webserver --fd N`, exactly as `manage.py serve` runs it; production
  settings) against ansar-connect's own crunch server (bench/tools/ansar_crunch.py)
  answering the same request; wrk, 2 threads, 50 connections, keep-alive.
- WebSocket: `Multiply` round trips on /ws/app/ (an owner's app token, the whole message
  path: rate limit, decode, validate, handler, encode) against a plain `websockets` server
  computing the same product (bench/tools/ws_echo.py); 50 clients (bench/tools/wsload.py).

Targets: HTTP >= 2x ansar-connect with p99 <= 20 ms and no timeouts; WebSocket >= 0.6x.

    .venv/bin/python bench/messages.py [--seconds 6] [--rounds 5] [--workers 1]

The server runs with WS_MESSAGES_PER_SECOND raised: each load client sends thousands of
frames a second on one socket, far over the product's default of 20.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import ROOT, Load, bench_env, login, median, owner_create, web_servers, web_servers_stop, wrk  # noqa: E402

QUERY = "/Multiply?x=1.5&y=2.25"
FRAME = json.dumps({"type": "Multiply", "id": 1, "x": 1.5, "y": 2.25})
TOOLS = Path(__file__).resolve().parent / "tools"  # servers and the socket load client, not benchmarks


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return str(response.read().decode())


def wsload(url: str, seconds: int, *, message: str, headers: list[str] = ()) -> Load:  # type: ignore[assignment]
    argv = [sys.executable, str(TOOLS / "wsload.py"), url, "-c", "50", "-d", str(seconds), "--message", message]
    for header in headers:
        argv += ["--header", header]
    out = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
    return Load(out["rtt_per_s"], out["p50_ms"], out["p99_ms"], out["errors"])


def start(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:  # noqa: PLR0915 - a script, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    env = {**bench_env(), "WS_MESSAGES_PER_SECOND": "1000000", "WS_MESSAGE_BURST": "1000000"}
    os.environ.update(env)
    from apps.infra.embedded_redis import EmbeddedRedis
    from catfeeder.testing import free_port, http_ok, wait_until

    redis = EmbeddedRedis(Path(env["CATFEEDER_VAR_DIR"]))
    redis.start()
    owner_create()
    ours, ansar, plain = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{ours}"
    ansar_home = tempfile.mkdtemp(prefix="cf-bench-ansar-")  # ansar writes its tool state under ANSAR_TOOL
    listening, web = web_servers(ours, env, workers=args.workers)
    servers = [
        *web,
        start([sys.executable, str(TOOLS / "ansar_crunch.py"), f"--port={ansar}"], {**env, "ANSAR_TOOL": ansar_home},
              Path(ansar_home)),
        start([sys.executable, str(TOOLS / "ws_echo.py"), str(plain)], env, ROOT),
    ]  # fmt: skip
    http = {"ours": f"{base}/api/messages{QUERY}", "ansar": f"http://127.0.0.1:{ansar}{QUERY}"}
    try:
        wait_until(lambda: http_ok(f"{base}/health/live"), timeout=30, what="our server")
        wait_until(lambda: http_ok(http["ansar"]), timeout=30, what="ansar-connect's server")
        token = login(base)
        print(f"ours:  {get_text(http['ours'])}")
        print(f"ansar: {json.dumps(json.loads(get_text(http['ansar'])))}")
        sockets = {
            "ours": (f"ws://127.0.0.1:{ours}/ws/app/", FRAME, [f"X-Session-Token: {token}"]),
            "plain": (f"ws://127.0.0.1:{plain}/", json.dumps({"x": 1.5, "y": 2.25}), []),
        }
        for url in http.values():
            wrk(url, seconds=2)
        for url, message, headers in sockets.values():
            wsload(url, 2, message=message, headers=headers)
        http_runs: dict[str, list[Load]] = {name: [] for name in http}
        ws_runs: dict[str, list[Load]] = {name: [] for name in sockets}
        loads = [os.getloadavg()[0]]
        for n in range(args.rounds):
            # Interleaved, and each pair in turn the other way round, so that a neighbour's
            # load on this shared machine hits both sides of a ratio alike.
            for name in http if n % 2 == 0 else reversed(http):
                http_runs[name].append(wrk(http[name], seconds=args.seconds))
            for name in sockets if n % 2 == 0 else reversed(sockets):
                url, message, headers = sockets[name]
                ws_runs[name].append(wsload(url, args.seconds, message=message, headers=headers))
            loads.append(os.getloadavg()[0])
            print(
                f"round {n + 1}: load {loads[-1]:.2f}; HTTP "
                + " ".join(f"{k} {v[-1].requests_per_s:.0f}/s p99 {v[-1].p99_ms:.1f}ms" for k, v in http_runs.items())
                + "; WS "
                + " ".join(f"{k} {v[-1].requests_per_s:.0f}/s" for k, v in ws_runs.items()),
                flush=True,
            )
    finally:
        web_servers_stop(listening, servers)
        redis.stop()
        shutil.rmtree(env["CATFEEDER_VAR_DIR"], ignore_errors=True)
        shutil.rmtree(ansar_home, ignore_errors=True)

    report(args, {k: median(v) for k, v in http_runs.items()}, {k: median(v) for k, v in ws_runs.items()}, loads)


def report(args: argparse.Namespace, http: dict[str, Load], ws: dict[str, Load], loads: list[float]) -> None:
    per = f"{args.rounds} x {args.seconds}s per target, median; 50 connections"
    print(f"messages: catfeeder.runtime.webserver x{args.workers}, {per}")
    print(f"load average (1 min) before and after each round: {', '.join(f'{x:.2f}' for x in loads)} (2 cores)")
    print(f"{'target':<58} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    labels = {
        ("http", "ours"): "GET /api/messages/Multiply (ours, lean ASGI path)",
        ("http", "ansar"): "GET /Multiply (ansar-connect crunch server)",
        ("ws", "ours"): "Multiply round trips on /ws/app/ (ours)",
        ("ws", "plain"): "round trips on a plain websockets server",
    }
    for kind, results in (("http", http), ("ws", ws)):
        for name, load in results.items():
            row = f"{labels[kind, name]:<58} {load.requests_per_s:>9.0f} {load.p50_ms:>8.1f} {load.p99_ms:>8.1f}"
            print(f"{row} {load.errors:>7}")
    http_ratio = http["ours"].requests_per_s / http["ansar"].requests_per_s
    http_met = http_ratio >= 2 and http["ours"].p99_ms <= 20 and http["ours"].errors == 0
    ws_ratio = ws["ours"].requests_per_s / ws["plain"].requests_per_s
    print(f"HTTP ratio ours/ansar = {http_ratio:.2f} (target >= 2, p99 <= 20 ms, no errors: "
          f"{'met' if http_met else 'NOT met'}); ansar errors (timeouts) {http['ansar'].errors}")  # fmt: skip
    print(f"WebSocket ratio ours/plain = {ws_ratio:.2f} (target >= 0.6: {'met' if ws_ratio >= 0.6 else 'NOT met'})")


if __name__ == "__main__":
    main()
