"""Shared pieces of the benchmarks: a private environment, a server, wrk."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-" + "q8Zr4Kx1Vm" * 6
OWNER_EMAIL = "bench@example.com"
OWNER_PASSWORD = "bench-password-9"  # noqa: S105 - a throwaway account in a private var/


def ensure_wrk() -> str:
    """wrk from Debian's packages, installed on first use (make bench runs as root here)."""
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["/usr/bin/apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or sys.exit("wrk could not be installed: apt-get install wrk")


def bench_env() -> dict[str, str]:
    """Production mode on a private var/ (SQLite, embedded Redis) unless DATABASE_URL/REDIS_URL are set."""
    var_dir = tempfile.mkdtemp(prefix="cf-bench-")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback, as behind a TLS proxy
        # wrk is one client sending thousands of requests a second: the limits would answer 429.
        "API_RATE_LIMIT_IP": "100000000/minute",
        "API_RATE_LIMIT_USER": "100000000/minute",
        "CATFEEDER_VAR_DIR": var_dir,
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


Servers = list[subprocess.Popen[bytes]]


def web_servers(
    port: int, env: dict[str, str], *, workers: int = 1, app: str | None = None
) -> tuple[list[socket.socket], Servers]:
    """The production web process as `manage.py serve` runs it (catfeeder.runtime.webserver on an inherited,
    bound socket of its own), `workers` of them, serving `app` if given (an ASGI path) instead of the
    product's; stop them with SIGTERM, then close the sockets."""
    from catfeeder.runtime.serve import listen_sockets, web_command

    socks = listen_sockets("127.0.0.1", port, workers)
    servers = [
        subprocess.Popen(
            web_command(sock.fileno()) + (["--app", app] if app else []),
            env=env,
            cwd=ROOT,
            pass_fds=(sock.fileno(),),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for sock in socks
    ]
    return socks, servers


def web_workers_default() -> int:
    """How many web processes `serve` starts unless told: WEB_WORKERS, else its documented default."""
    from catfeeder.settings.catalog import CATALOG

    default = next(variable.default for variable in CATALOG if variable.name == "WEB_WORKERS")
    return int(os.environ.get("WEB_WORKERS", default))


def web_servers_stop(listening: list[socket.socket], servers: Servers) -> None:
    """SIGTERM every server, wait for each, then close the sockets they served."""
    for server in servers:
        server.terminate()
    for server in servers:
        server.wait(20)
    for sock in listening:
        sock.close()


def owner_create() -> Any:
    """Django set up on the private database, migrated, with the bench owner's account."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from allauth.account.models import EmailAddress

    from apps.accounts.models import User

    owner = User.objects.create_user(email=OWNER_EMAIL, password=OWNER_PASSWORD)
    # Log-in waits for a verified address (verification by code is mandatory).
    EmailAddress.objects.create(user=owner, email=OWNER_EMAIL, verified=True, primary=True)
    from apps.households.services import household_create

    household_create(user=owner)  # as sign-up does
    return owner


def login(base: str) -> str:
    """The bench owner's app token, from allauth's headless login."""
    body = json.dumps({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/_allauth/app/v1/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return str(json.load(response)["meta"]["session_token"])


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def median(loads: list[Load]) -> Load:
    """Median rate and latencies of several rounds; their errors added up."""
    return Load(
        statistics.median(x.requests_per_s for x in loads),
        statistics.median(x.p50_ms for x in loads),
        statistics.median(x.p99_ms for x in loads),
        sum(x.errors for x in loads),
    )


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, *, seconds: int = 10, connections: int = 50, headers: dict[str, str] | None = None) -> Load:
    argv = [ensure_wrk(), "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s", url]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    if "50%" not in out or "Requests/sec" not in out:
        raise RuntimeError(f"wrk measured nothing:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    try:
        # Anchored: "+/- Stdev" figures such as "93.50%" also end in "50%".
        p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
        p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    except ValueError as exc:
        raise RuntimeError(f"{exc} in:\n{out}") from None
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return Load(rps, p50, p99, errors)
