"""The reference topology's processes: PostgreSQL and two Redis on `data`, HAProxy on `lb`, and
`serve --role ROLE` on the other hosts, each started in its namespace with a host name of its own.

Every Cat Feeder process reads deploy/catfeeder.env.example, the shipped environment file, with
this topology's addresses and secrets put in (`Cluster.env`). HAProxy runs deploy/haproxy.cfg as
shipped: its backends and the site's name come from the environment.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis

from apps.ops.tests.test_deploy_files import DEPLOY, HAPROXY, self_signed_pem
from catfeeder.testing import BASE_DIR, SERVE_START_TIMEOUT, wait_until
from tests.cluster.topology import Network, netns_kill

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = shutil.which("redis-server")
REDIS_PORTS = (6379, 6380)  # the two Redis servers on `data`: the first is also broker and cache
WEB_PORT = 8000
# Short enough for a test to wait out, long enough that a busy machine never loses the lock by accident.
BEAT_LOCK_TTL = 10  # seconds
KEEP_FROM_OS = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV")


def missing_binaries() -> str | None:
    for path, package in ((PG_BIN / "initdb", "postgresql-15"), (HAPROXY, "haproxy"), (REDIS_SERVER, "redis-server")):
        if path is None or not Path(path).exists():
            return f"{package} is not installed (the topology runs Debian's binaries)"
    return None


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an environment file, as systemd's EnvironmentFile reads them."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


class Host:
    """A process started in a host's namespace; its output in a log file."""

    def __init__(self, cluster: Cluster, host: str, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.host, self.name = host, name
        self.log = cluster.dir / f"{name}.log"
        # A host name of its own (a UTS namespace), as a separate machine has: the ops registry
        # names web instances, workers and beats by it.
        wrapper = ["ip", "netns", "exec", cluster.namespace(host), "unshare", "--uts", "sh", "-c",
                   'hostname "$0" && exec "$@"', host]  # fmt: skip
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(
                [*wrapper, *argv], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=BASE_DIR, start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def running(self) -> bool:
        if self.popen.poll() is not None:
            raise RuntimeError(
                f"{self.name} on {self.host} exited with {self.popen.returncode}:\n{self.output()[-3000:]}"
            )
        return True


class Cluster(Network):
    def __init__(self) -> None:
        super().__init__()
        self.processes: dict[str, Host] = {}
        self.site = self.address("lb")  # the name clients use: the balancer's address
        self.certificate = self_signed_pem(self.dir / "site.pem", self.site)
        self.secret_key = secrets.token_urlsafe(50)
        self.ops_token = secrets.token_urlsafe(20)

    # --- addresses -------------------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        return f"postgres://postgres@{self.address('data')}:5432/catfeeder"

    def redis_url(self, n: int) -> str:
        return f"redis://{self.address('data')}:{REDIS_PORTS[n]}/0"

    @property
    def ws_url(self) -> str:
        return f"wss://{self.site}"

    def env(self, host: str = "root", **extra: str) -> dict[str, str]:
        """The shipped environment file with this topology's values: what every Cat Feeder unit reads."""
        values = env_file(DEPLOY / "catfeeder.env.example")
        for no_service_here in ("S3_BUCKET", "EMAIL_URL"):  # photos and mail stay in each host's var/
            values.pop(no_service_here, None)
        values.update(
            DJANGO_SETTINGS_MODULE="tests.cluster.settings",
            DJANGO_SECRET_KEY=self.secret_key,
            OPS_TOKEN=self.ops_token,
            DJANGO_ALLOWED_HOSTS=self.site,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url(0),
            CHANNEL_REDIS_URLS=f"{self.redis_url(0)},{self.redis_url(1)}",
            FORWARDED_ALLOW_IPS=self.address("lb"),
            BEAT_LOCK_TTL=str(BEAT_LOCK_TTL),
            CATFEEDER_VAR_DIR=str(self.dir / f"var-{host}"),
            PYTHONUNBUFFERED="1",
            SSL_CERT_FILE=str(self.certificate),  # clients trust the balancer's self-signed certificate
        )
        return {**{k: os.environ[k] for k in KEEP_FROM_OS if k in os.environ}, **values, **extra}

    # --- processes -------------------------------------------------------------------------------
    def start(self, host: str, name: str, argv: list[str], env: dict[str, str] | None = None) -> Host:
        process = self.processes[name] = Host(self, host, name, argv, env or self.env(host))
        return process

    def kill(self, host: str) -> None:
        """kill -9 of everything on a host, as when it loses power."""
        netns_kill(self.namespace(host))
        for process in self.processes.values():
            if process.host == host:
                process.popen.wait(timeout=30)

    def serve(self, host: str, role: str) -> Host:
        manage = [sys.executable, "manage.py", "serve", "--role", role]
        return self.start(host, f"{host}-{time.monotonic_ns()}", manage)

    def manage(self, *argv: str, timeout: float = 300) -> str:
        """A one-off `manage.py` command from the root namespace (an operator's shell)."""
        done = subprocess.run([sys.executable, "manage.py", *argv], capture_output=True, text=True, env=self.env(),
                              cwd=BASE_DIR, timeout=timeout, check=False)  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(argv)}:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    # --- the data host ---------------------------------------------------------------------------
    def start_data(self) -> None:
        pgdata = self.dir / "pg"
        pgdata.mkdir()
        shutil.chown(pgdata, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
        initdb = [*as_postgres, str(PG_BIN / "initdb"), "-D", str(pgdata), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8"]  # fmt: skip
        done = subprocess.run(initdb, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            raise RuntimeError(f"initdb: {done.stdout}{done.stderr}")
        with open(pgdata / "pg_hba.conf", "a") as hba:  # every host of the private network, as a trusted LAN
            hba.write(f"host all all {self.subnet}.0/24 trust\n")
        # Its unix socket in its own directory: the machine's PostgreSQL holds the usual one.
        options = ["-c", f"listen_addresses={self.address('data')}", "-c", f"unix_socket_directories={pgdata}",
                   "-c", "fsync=off", "-c", "max_connections=300"]  # fmt: skip
        self.start("data", "postgres", [*as_postgres, str(PG_BIN / "postgres"), "-D", str(pgdata), *options])
        for n in range(len(REDIS_PORTS)):
            self.redis_start(n)
        wait_until(self.database_answers, timeout=60, what="PostgreSQL on data")
        for n in range(len(REDIS_PORTS)):
            wait_until(functools.partial(self.redis_answers, n), timeout=30, what=f"Redis {n} on data")
        with psycopg.connect(self.database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE catfeeder")
        self.manage("migrate", "--no-input", "-v0")

    def redis_start(self, n: int) -> None:
        port = REDIS_PORTS[n]
        argv = [str(REDIS_SERVER), "--bind", self.address("data"), "--port", str(port), "--protected-mode", "no",
                "--dir", str(self.dir), "--appendonly", "yes", "--appendfilename", f"redis-{port}.aof",
                "--save", ""]  # fmt: skip
        self.start("data", f"redis-{port}", argv)

    def redis_kill(self, n: int) -> None:
        """kill -9 of one Redis server, as when it crashes."""
        process = self.processes[f"redis-{REDIS_PORTS[n]}"].popen
        process.kill()
        process.wait(timeout=30)

    def database_answers(self) -> bool:
        self.processes["postgres"].running()
        try:
            psycopg.connect(self.database_url.rsplit("/", 1)[0] + "/postgres", connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def redis_answers(self, n: int) -> bool:
        try:
            return bool(redis.Redis.from_url(self.redis_url(n), socket_timeout=2).ping())
        except redis.RedisError:
            return False

    # --- the balancer and the roles --------------------------------------------------------------
    def start_balancer(self) -> Host:
        env = {"PATH": os.environ["PATH"], "CATFEEDER_WEB1": f"{self.address('web1')}:{WEB_PORT}",
               "CATFEEDER_WEB2": f"{self.address('web2')}:{WEB_PORT}", "CATFEEDER_SITE": self.site,
               "CATFEEDER_TLS_CERT": str(self.certificate)}  # fmt: skip
        # -n: fewer connections than the shipped maxconn, whose descriptors a test machine may not allow.
        return self.start("lb", "haproxy", [str(HAPROXY), "-db", "-n", "4000", "-f", str(DEPLOY / "haproxy.cfg")], env)

    def balancer_says(self, server: str, state: str) -> int:
        """How often HAProxy logged `Server web/<server> is <state>`."""
        return self.processes["haproxy"].output().count(f"Server web/{server} is {state}")

    def in_pool(self, server: str) -> bool:
        return self.balancer_says(server, "UP") > 0

    def start_roles(self) -> None:
        self.web = {host: self.serve(host, "web") for host in ("web1", "web2")}
        self.worker = self.serve("worker1", "worker")
        self.beats = {"beat1": self.serve("beat1", "beat")}
        # beat1 holds the lock before beat2 starts: beat2 is the standby the failover test relies on.
        wait_until(lambda: "beat lock taken" in self.beats["beat1"].output(), timeout=SERVE_START_TIMEOUT,
                   what="beat1 holding the beat lock")  # fmt: skip
        self.beats["beat2"] = self.serve("beat2", "beat")
        for host in ("web1", "web2"):
            wait_until(functools.partial(self.in_pool, host), timeout=SERVE_START_TIMEOUT,
                       what=f"{host} in the balancer's pool")  # fmt: skip
        wait_until(lambda: "worker answered ping" in self.worker.output(), timeout=SERVE_START_TIMEOUT,
                   what="worker1 answering")  # fmt: skip

    def restart(self, host: str, role: str) -> Host:
        """A host that was killed, powered on again."""
        process = self.serve(host, role)
        if role == "web":
            self.web[host] = process
        return process

    def describe(self) -> str:
        """The end of every process's log, for a failure message."""
        return "\n".join(f"--- {p.name} on {p.host}:\n{p.output()[-2000:]}" for p in self.processes.values())

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGKILL)
                process.popen.wait(timeout=30)
