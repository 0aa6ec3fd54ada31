"""`manage.py serve`: the supervised group of processes (its command class; see catfeeder.runtime)."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.infra.embedded_redis import EmbeddedRedis
from catfeeder.runtime.supervisor import ChildSpec, Supervisor

WEB_DRAIN = 8  # seconds uvicorn lets in-flight requests finish after SIGTERM
WORKER_STOP = 10  # seconds a worker may take to finish its running task
PING_PATIENCE = 60.0  # seconds serve waits for the first worker pong
BRIDGE_STOP = 5  # seconds the Home Assistant bridge may take to say "offline" and disconnect
BEAT_STOP = 8  # seconds: a tick (up to beat's 5 s max interval) and the schedule's last save
# What each --role runs. "all" is the whole group on one host (make run); the others split it
# over hosts that share PostgreSQL and Redis (docs/deploy.md). The bridge is a role of its own:
# it must run once per deployment (two would obey each press twice) and has no lock to stand by on.
ROLES = {
    "all": ("web", "worker", "beat", "bridge"),
    "web": ("web",),
    "worker": ("worker",),
    "beat": ("beat",),
    "bridge": ("bridge",),
}


def role_refusal(role: str) -> str | None:
    """Why `role` cannot start here, or None. Only `all` may keep the single-host defaults."""
    if role == "all":
        return None
    missing = []
    if settings.EMBEDDED_REDIS:
        missing.append("REDIS_URL (separate hosts cannot share an embedded Redis)")
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        missing.append("DATABASE_URL (separate hosts cannot share a SQLite file)")
    if role == "bridge" and not settings.MQTT_URL:
        missing.append("MQTT_URL (the broker Home Assistant listens to)")
    return f"serve --role {role} needs {' and '.join(missing)}" if missing else None


def route_count() -> str:
    from catfeeder.management.commands.routes import api_operations, http_routes
    from catfeeder.routing import websocket_urlpatterns

    api = sum(1 for _ in api_operations())
    pages = sum(1 for path, _ in http_routes() if not path.startswith("/api/"))
    return f"{api} API operations, {pages} other HTTP routes, {len(websocket_urlpatterns)} WebSocket routes"


class ListenError(Exception):
    pass


def web_command(fd: int) -> list[str]:
    """One production web process serving the bound socket `fd` (also what bench/ measures)."""
    web = [sys.executable, "-m", "catfeeder.runtime.webserver"]
    return [*web, "--fd", str(fd), "--timeout-graceful-shutdown", str(WEB_DRAIN)]


def listen_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """Bind the web port here, so a busy port is one clear line, not a traceback.

    The web server inherits the bound socket (uvicorn --fd): there is no gap
    between our check and its bind, and a restarted web child keeps the port.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = os.strerror(exc.errno or errno.EINVAL).lower() if exc.errno else str(exc)
        raise ListenError(f"cannot listen at {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock


def listen_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """One listening socket per web process, all on `port` (SO_REUSEPORT), where the system has it.

    With one shared socket, whichever process wakes first accepts every
    connection waiting: a burst of 50 kept-alive connections split 39/11, and
    the busier process answered three times slower for as long as they lasted
    (bench/rest_read.py's p99). With a socket each, the kernel spreads
    connections evenly by their addresses. The price: a web process that dies
    leaves the connections sent to its socket waiting until it is back.
    """
    if count <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        return [listen_socket(host, port)]
    if port:  # a port held by another program (even one using SO_REUSEPORT too) is busy, not shared
        listen_socket(host, port).close()
    first = listen_socket(host, port, reuse_port=True)
    port = first.getsockname()[1]
    return [first] + [listen_socket(host, port, reuse_port=True) for _ in range(count - 1)]


@contextlib.contextmanager
def terminal_foreground() -> Iterator[None]:
    """Be the terminal's foreground job while serving, as a shell makes a job.

    Under `make run` a Ctrl-C would otherwise reach make too, which then
    reports "Interrupt" and fails although serve stopped every child cleanly.
    """
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        yield
        return
    previous_ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    before = None
    try:
        original = os.getpgrp()
        if os.tcgetpgrp(tty) == original:  # we are in the foreground, not a background job
            os.setpgid(0, 0)
            os.tcsetpgrp(tty, os.getpgrp())
            before = original
    except OSError:
        pass  # a session leader cannot move; it is then the only one Ctrl-C reaches anyway
    try:
        yield
    finally:
        if before is not None:
            with contextlib.suppress(OSError):
                os.tcsetpgrp(tty, before)
        signal.signal(signal.SIGTTOU, previous_ttou)
        os.close(tty)


class ServeCommand(BaseCommand):
    help = (
        "Run web, worker, beat (and the embedded Redis when no REDIS_URL is set, the Home Assistant bridge "
        "when MQTT_URL is) as one supervised group, or one role of it per host (--role)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--role",
            choices=list(ROLES),
            default="all",
            help="all (default): everything on this host, as make run. web: the web processes; worker: the "
            "Celery worker; beat: beat (a second one stands by on its lock); bridge: the Home Assistant bridge "
            "(one host per deployment). Any role but all needs REDIS_URL and DATABASE_URL (docs/deploy.md)",
        )
        parser.add_argument("--host", default=settings.WEB_HOST)
        parser.add_argument("--port", type=int, default=settings.WEB_PORT)
        parser.add_argument("--web-workers", type=int, default=settings.WEB_WORKERS)
        parser.add_argument("--concurrency", type=int, default=settings.CELERY_WORKER_CONCURRENCY)
        parser.add_argument(
            "--reload",
            action="store_true",
            help="development: restart web when Python changes, live-reload pages (apps.devreload); one web process",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"]
        parts = ROLES[role]
        if refusal := role_refusal(role):
            self.stderr.write(refusal)
            sys.exit(1)
        socks = []
        if "web" in parts:
            web_count = 1 if options["reload"] else options["web_workers"]
            try:
                socks = listen_sockets(options["host"], options["port"], web_count)
            except ListenError as exc:
                self.stderr.write(str(exc))
                sys.exit(1)
        if "beat" in parts:  # the schedules beat reads; other roles leave them to it
            call_command("setup_periodic_tasks", verbosity=0)
        specs = self.children([sock.fileno() for sock in socks], options)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        supervisor = Supervisor(specs, env=env, out=sys.stdout)
        names = ", ".join(s.name for s in specs)
        if "web" in parts:
            where = f"at http://{options['host']}:{options['port']}/"
            supervisor.say("serve", f"Cat Feeder {where} ({names}); Ctrl-C stops all")
            supervisor.say("serve", f"{route_count()} (manage.py routes lists them)")
        else:
            supervisor.say("serve", f"Cat Feeder, role {role} ({names}); Ctrl-C stops all")
        announce = "worker" in parts
        with terminal_foreground():
            code = supervisor.run(on_started=(lambda: self.announce_worker(supervisor)) if announce else None)
        for sock in socks:
            sock.close()
        if code:
            sys.exit(code)

    def children(self, fds: list[int], options: dict[str, Any]) -> list[ChildSpec]:
        """The supervised processes of the role; web process n serves the listening socket fds[n]."""
        parts = ROLES[options.get("role", "all")]
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "catfeeder"]
        specs = []
        if settings.EMBEDDED_REDIS:  # only "all" gets here without REDIS_URL (role_refusal)
            redis = EmbeddedRedis(settings.VAR_DIR)
            redis.prepare()
            if redis.is_up():
                raise CommandError(f"an embedded Redis already answers on {redis.socket}: is another serve running?")
            specs.append(ChildSpec("redis", redis.argv(), stop_stage=2, stop_timeout=5, ready=redis.is_up))
        # Each web process is one registered, drainable instance (catfeeder.runtime.webserver),
        # with a listening socket of its own (listen_sockets).
        webs = [web_command(fd) for fd in fds]
        if options["reload"] and fds:  # development: uvicorn's reloader and live reload, one web process
            webs = [[python, "-m", "apps.devreload.devserver", "--fd", str(fds[0])]]
            webs[0] += ["--timeout-graceful-shutdown", str(WEB_DRAIN)]
        count = len(webs)
        if "worker" in parts:
            worker = [*celery, "worker", "--loglevel", "INFO", "--concurrency", str(options["concurrency"])]
            specs.append(ChildSpec("worker", worker, stop_stage=1, stop_timeout=WORKER_STOP))
        if "beat" in parts:
            beat = [*celery, "beat", "--loglevel", "INFO"]
            specs.append(ChildSpec("beat", beat, stop_stage=1, stop_timeout=BEAT_STOP))
        for n, (web, fd) in enumerate(zip(webs, fds, strict=True), start=1):
            name = "web" if count == 1 else f"web{n}"
            specs.append(ChildSpec(name, web, stop_stage=1, stop_timeout=WEB_DRAIN + 2, pass_fds=(fd,)))
        if "bridge" in parts and settings.MQTT_URL:  # Home Assistant's bridge: restarted like a worker
            bridge = [python, str(settings.BASE_DIR / "manage.py"), "homeassistant"]
            specs.append(ChildSpec("homeassistant", bridge, stop_stage=1, stop_timeout=BRIDGE_STOP))
        return specs

    def announce_worker(self, supervisor: Supervisor) -> None:
        """Ping the worker once everything runs and log its answer.

        A broadcast ping through the broker, not a task: a task's result would
        come back through the result backend, whose subscription outlives the
        answer and, once Redis stops with serve, retries for 20 s after "all
        stopped".
        """

        def ping() -> None:
            from catfeeder.celery import app

            deadline = time.monotonic() + PING_PATIENCE
            while time.monotonic() < deadline and not supervisor.stop_requested.is_set():
                started = time.monotonic()
                try:
                    replies = app.control.ping(timeout=1.0, limit=1)
                except Exception:  # noqa: BLE001, S112 - the broker may still be starting
                    time.sleep(1.0)
                    continue
                if not replies:
                    continue  # the worker is still starting
                [(name, answer)] = replies[0].items()
                supervisor.say(
                    "serve",
                    f"worker answered ping: {answer.get('ok', answer)} in "
                    f"{(time.monotonic() - started) * 1000:.0f} ms ({name})",
                )
                return
            supervisor.say("serve", f"worker did not answer a ping within {PING_PATIENCE:.0f}s")

        threading.Thread(target=ping, daemon=True).start()
