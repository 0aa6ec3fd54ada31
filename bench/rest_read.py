"""GET /api/feeders (authenticated, 20 feeders) against a stock Django JSON view.

Both are served in one run by the production web process as `manage.py serve`
runs it (catfeeder.runtime.webserver on an inherited socket, production settings, one
process unless --workers) and loaded by wrk over loopback.
Target: ratio (API / stock view) >= 1.0.

    .venv/bin/python bench/rest_read.py [--seconds 10] [--rounds 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import Load, bench_env, login, median, owner_create, web_servers, web_servers_stop, wrk  # noqa: E402

FEEDERS = 20


def prepare_data() -> None:
    owner = owner_create()
    from apps.feeders.services import feeder_create

    for n in range(FEEDERS):
        feeder_create(owner=owner, name=f"Feeder {n}", mac=f"F0:00:00:00:00:{n:02X}", city="Lyon")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    env = bench_env()
    os.environ.update(env)
    from catfeeder.embedded_redis import EmbeddedRedis
    from catfeeder.testing import free_port, http_ok, wait_until

    redis = EmbeddedRedis(Path(env["CATFEEDER_VAR_DIR"]))
    redis.start()
    prepare_data()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    listening, servers = web_servers(port, env, workers=args.workers, app="bench.asgi:application")
    try:
        wait_until(lambda: http_ok(f"{base}/health/live"), timeout=30, what="server")
        token = login(base)
        api = (f"{base}/api/feeders?limit={FEEDERS}", {"X-Session-Token": token})
        targets = {
            "api": api,
            "stock": (f"{base}/bench/stock/bare/", {}),
            "ours": (f"{base}/bench/bare/", {}),
        }
        for url, headers in targets.values():
            assert wrk(url, seconds=2, headers=headers).errors == 0, f"warm-up of {url} got errors"
        runs: dict[str, list[Load]] = {name: [] for name in targets}
        for _ in range(args.rounds):  # interleaved, so drift hits all alike
            for name, (url, headers) in targets.items():
                runs[name].append(wrk(url, seconds=args.seconds, headers=headers))
    finally:
        web_servers_stop(listening, servers)
        redis.stop()
        shutil.rmtree(env["CATFEEDER_VAR_DIR"], ignore_errors=True)

    result = {name: median(loads) for name, loads in runs.items()}
    print(
        f"rest_read: catfeeder.runtime.webserver x{args.workers}, wrk 2 threads 50 connections, "
        f"{args.rounds} x {args.seconds}s, median"
    )
    print(f"{'target':<50} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    labels = {
        "api": f"GET /api/feeders ({FEEDERS} feeders, app token)",
        "stock": "stock Django JSON view, Django ASGI (reference)",
        "ours": "the same view on our HTTP path",
    }
    for name, load in result.items():
        print(
            f"{labels[name]:<50} {load.requests_per_s:>9.0f} {load.p50_ms:>8.1f} {load.p99_ms:>8.1f} {load.errors:>7}"
        )
    ratio = result["api"].requests_per_s / result["stock"].requests_per_s
    print(f"ratio api/stock = {ratio:.2f} (target >= 1.0: {'met' if ratio >= 1.0 else 'NOT met'})")


if __name__ == "__main__":
    main()
