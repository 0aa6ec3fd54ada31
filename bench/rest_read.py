"""GET /api/feeders (authenticated, 20 feeders) beside Django REST Framework and django-ninja on gunicorn.

Ours runs as `manage.py serve` runs the web process by default: production
settings, the product's middleware, app-token authentication (a session),
rate limits counted in Redis, catfeeder.runtime.webserver on an inherited socket, as
many web processes as `serve` starts by default (WEB_WORKERS; --workers
overrides). The rate limits are raised, not removed: wrk is one client.

The references are what a Django user would deploy instead, on the same
database and the same 20 rows and fields (bench/reference_urls.py):
- DRF: a ListAPIView with TokenAuthentication;
- django-ninja: an operation with a ModelSchema and a bearer token;
each on gunicorn with the worker set-up that served it best on this 2-core
machine (`--tune` measures the candidates again).

All three are measured in the same run, in alternating rounds, by wrk over
loopback (2 threads, 50 connections). Target: ours >= 1.0x the faster
reference, with p99 <= 100 ms.

    .venv/bin/python bench/rest_read.py [--seconds 10] [--rounds 3] [--workers N] [--tune]
    (needs bench/requirements.txt: gunicorn, djangorestframework)
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (  # noqa: E402
    ROOT,
    Load,
    bench_env,
    login,
    median,
    owner_create,
    web_servers,
    web_servers_stop,
    web_workers_default,
    wrk,
)

FEEDERS = 20
P99_TARGET_MS = 100.0


@dataclass(frozen=True)
class Gunicorn:
    """A gunicorn set-up: `workers` processes of `worker_class`, `threads` each (gthread)."""

    workers: int
    worker_class: str = "sync"
    threads: int = 1

    def __str__(self) -> str:
        if self.worker_class == "gthread":
            return f"{self.workers} gthread x{self.threads}"
        return f"{self.workers} {self.worker_class}"

    def argv(self, port: int) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn", "bench.reference_wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", str(self.workers), "--worker-class", self.worker_class, "--threads", str(self.threads),
        ]  # fmt: skip


# The best of --tune on this 2-core machine (median of two alternating rounds; see the README's Benchmarks).
BEST = {"drf": Gunicorn(2), "ninja": Gunicorn(2, "gthread", 4)}
CANDIDATES = [Gunicorn(n) for n in (2, 3, 4, 5)] + [Gunicorn(n, "gthread", 4) for n in (2, 3, 4)]


def prepare_data() -> str:
    """Migrate (the product's tables and DRF's token table), the owner and 20 feeders; the owner's DRF token."""
    owner = owner_create()
    from rest_framework.authtoken.models import Token

    from apps.feeders.services.devices import feeder_create
    from apps.households.services import household_for_write

    household = household_for_write(user=owner, household_id=None)
    for n in range(FEEDERS):
        feeder_create(household=household, name=f"Feeder {n}", mac=f"F0:00:00:00:00:{n:02X}", city="Lyon")
    return str(Token.objects.create(user=owner).key)


def answers(url: str) -> bool:
    """Any HTTP answer (a reference without a token answers 401)."""
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback URL built here
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def gunicorn_start(setup: Gunicorn, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    from catfeeder.testing import free_port, wait_until

    port = free_port()
    server = subprocess.Popen(setup.argv(port), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(base), timeout=30, what="gunicorn")
    return server, base


def gunicorn_stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown (SIGTERM waits out kept-alive connections)
    server.wait(30)


def load_average() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def tune(
    env: dict[str, str], targets: dict[str, tuple[str, dict[str, str]]], seconds: int, rounds: int
) -> dict[str, Gunicorn]:
    """Every candidate set-up under each reference, in alternating rounds: the best median req/s."""
    rates: dict[tuple[str, Gunicorn], list[float]] = {}
    for n in range(rounds):
        print(f"tuning, round {n + 1}/{rounds} ({load_average()})", flush=True)
        for setup in CANDIDATES:
            server, base = gunicorn_start(setup, env)
            try:
                for name, (path, headers) in targets.items():
                    wrk(base + path, seconds=1, headers=headers)
                    load = wrk(base + path, seconds=seconds, headers=headers)
                    rates.setdefault((name, setup), []).append(load.requests_per_s if load.errors == 0 else 0.0)
                    print(f"  {name:<6} {setup!s:<16} {load.requests_per_s:>7.0f} req/s  p99 {load.p99_ms:>7.1f} ms")
            finally:
                gunicorn_stop(server)
    best = {}
    for name in targets:
        best[name] = max(CANDIDATES, key=lambda setup: statistics.median(rates[name, setup]))
        print(f"best for {name}: {best[name]} ({statistics.median(rates[name, best[name]]):.0f} req/s)")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="our web processes (default: as serve starts)")
    parser.add_argument("--tune", action="store_true", help="first measure gunicorn set-ups for the references")
    parser.add_argument("--tune-seconds", type=int, default=5)
    parser.add_argument("--tune-rounds", type=int, default=2)
    args = parser.parse_args()

    env = bench_env()
    # Exactly the product's settings, its request log included (INFO: a line per request, console and file).
    ours_env = {**env, "DJANGO_SETTINGS_MODULE": "catfeeder.settings.base", "DJANGO_LOG_LEVEL": "INFO"}
    os.environ.update({**env, "DJANGO_SETTINGS_MODULE": "bench.reference_settings"})
    from apps.infra.embedded_redis import EmbeddedRedis
    from catfeeder.testing import free_port, http_ok, wait_until

    workers = args.workers or web_workers_default()
    reference_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.reference_settings"}
    redis = EmbeddedRedis(Path(env["CATFEEDER_VAR_DIR"]))
    redis.start()
    references: dict[str, subprocess.Popen[bytes]] = {}
    listening, servers = None, []
    try:
        drf_token = prepare_data()
        reference_paths = {
            "drf": ("/drf/feeders", {"Authorization": f"Token {drf_token}"}),
            "ninja": ("/ninja/feeders", {"Authorization": f"Bearer {drf_token}"}),
        }
        setups = tune(reference_env, reference_paths, args.tune_seconds, args.tune_rounds) if args.tune else BEST
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        listening, servers = web_servers(port, ours_env, workers=workers)
        wait_until(lambda: http_ok(f"{base}/health/live"), timeout=30, what="server")
        targets = {"ours": (f"{base}/api/feeders?limit={FEEDERS}", {"X-Session-Token": login(base)})}
        for name, (path, headers) in reference_paths.items():
            references[name], reference_base = gunicorn_start(setups[name], reference_env)
            targets[name] = (reference_base + path, headers)
        for url, headers in targets.values():
            assert wrk(url, seconds=2, headers=headers).errors == 0, f"warm-up of {url} got errors"
        runs: dict[str, list[Load]] = {name: [] for name in targets}
        for n in range(args.rounds):  # alternating, so drift and the neighbours' load hit all alike
            print(f"round {n + 1}/{args.rounds}: {load_average()}", flush=True)
            order = list(targets) if n % 2 == 0 else list(reversed(targets))
            for name in order:
                url, headers = targets[name]
                runs[name].append(wrk(url, seconds=args.seconds, headers=headers))
                time.sleep(0.5)
        print(f"after: {load_average()}")
    finally:
        for server in references.values():
            gunicorn_stop(server)
        if listening is not None:
            web_servers_stop(listening, servers)
        redis.stop()
        shutil.rmtree(env["CATFEEDER_VAR_DIR"], ignore_errors=True)

    print(
        f"rest_read: wrk 2 threads 50 connections, {args.rounds} alternating rounds x {args.seconds}s, "
        "median; per round:"
    )
    labels = {
        "ours": f"ours: GET /api/feeders, serve's web x{workers}",
        "drf": f"DRF ListAPIView, gunicorn {setups['drf']}",
        "ninja": f"django-ninja, gunicorn {setups['ninja']}",
    }
    for name, loads in runs.items():
        print(f"  {name:<6} req/s " + " ".join(f"{x.requests_per_s:>6.0f}" for x in loads))
    result = {name: median(loads) for name, loads in runs.items()}
    heading = f"target ({FEEDERS} feeders, token auth)"
    print(f"{heading:<50} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, load in result.items():
        print(
            f"{labels[name]:<50} {load.requests_per_s:>9.0f} {load.p50_ms:>8.1f} {load.p99_ms:>8.1f} {load.errors:>7}"
        )
    faster = max(("drf", "ninja"), key=lambda name: result[name].requests_per_s)
    ratio = result["ours"].requests_per_s / result[faster].requests_per_s
    per_round = [o.requests_per_s / max(d.requests_per_s, g.requests_per_s)
                 for o, d, g in zip(runs["ours"], runs["drf"], runs["ninja"], strict=True)]  # fmt: skip
    met = ratio >= 1.0 and result["ours"].p99_ms <= P99_TARGET_MS
    print(
        f"ratio ours/{faster} = {ratio:.2f} (per round " + ", ".join(f"{r:.2f}" for r in per_round) + "); "
        f"ours p99 {result['ours'].p99_ms:.0f} ms (target >= 1.0 with p99 <= {P99_TARGET_MS:.0f} ms: "
        f"{'met' if met else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
