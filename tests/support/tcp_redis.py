"""A redis-server of the test's own on a free loopback port, restarted on the same port.

Without persistence: a restart loses every key, as a crashed or replaced Redis
does. Only this process is ever signalled, never the machine's Redis.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import redis

from apps.infra.embedded_redis import executable
from catfeeder.testing import free_port, wait_until


class TcpRedis:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cf-tcp-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def is_up(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def start(self) -> None:
        argv = [executable(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--save", "", "--appendonly", "no"]  # fmt: skip
        with open(self.dir / "redis.log", "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self.is_up, timeout=10, what="private redis up")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()
