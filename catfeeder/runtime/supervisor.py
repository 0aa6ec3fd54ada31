"""A small process supervisor: the engine of `manage.py serve`.

It starts its children in order (waiting for each one that has a readiness
probe), prefixes every line they print with their name, restarts one that
dies with exponential backoff, and on SIGINT/SIGTERM stops them stage by
stage: the web server, beat and the worker together (the web drains its
in-flight requests, the worker finishes its running task, each at its own
pace), then Redis, which they use until they are gone, all within one deadline.

Children run in sessions of their own so that a Ctrl-C in the terminal
reaches only the supervisor, which then stops them in order; each child is
also told to die with its parent (see `die_with_parent`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

from apps.infra.embedded_redis import die_with_parent
from apps.ops.metrics import MULTIPROC_ENV, MultiprocessDir

STOP_DEADLINE = 14.0  # seconds from the stop request to the last SIGKILL
READY_TIMEOUT = 15.0  # seconds a child with a probe may take to become ready
BACKOFF_FIRST = 1.0  # seconds before the first restart of a child that died
BACKOFF_MAX = 30.0  # seconds: the longest wait between restarts
STABLE_AFTER = 30.0  # seconds of uptime after which a crash restarts the backoff
POLL = 0.1  # seconds between looks at the children

COLORS = ["36", "33", "35", "32", "34", "31"]


def describe(code: int) -> str:
    """An exit status as people read it: "exit 3" or "SIGKILL"."""
    if code < 0:
        return signal.Signals(-code).name
    return f"exit {code}"


@dataclass
class ChildSpec:
    name: str
    argv: list[str]
    stop_stage: int  # lower stages stop first; one stage stops all at once
    stop_timeout: float  # seconds after SIGTERM before SIGKILL
    ready: Callable[[], bool] | None = None
    pass_fds: tuple[int, ...] = ()


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None
    pump: threading.Thread | None = None
    restarts: int = field(default=0)


class Supervisor:
    def __init__(self, specs: Sequence[ChildSpec], *, env: dict[str, str], out: IO[str] | None = None) -> None:
        self.children = [Child(spec) for spec in specs]
        self.env = env
        self.out = out or sys.stdout
        self.color = self.out.isatty()
        self.width = max(len(s.name) for s in [*specs, ChildSpec("serve", [], 0, 0)])
        self.lock = threading.Lock()
        self.stop_requested = threading.Event()
        self.signals = 0
        self.metrics: MultiprocessDir | None = None  # the children's prometheus_client directory, per run

    # -- output --------------------------------------------------------------
    def say(self, name: str, line: str) -> None:
        label = name.ljust(self.width)
        if self.color:
            names = [c.spec.name for c in self.children]
            code = COLORS[names.index(name) % len(COLORS)] if name in names else "1"
            label = f"\033[{code}m{label}\033[0m"
        with self.lock:
            self.out.write(f"{label} | {line}\n")
            self.out.flush()

    def _pump(self, child: Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(child.spec.name, raw.decode("utf-8", "replace").rstrip())
        stream.close()

    # -- starting ------------------------------------------------------------
    def _spawn(self, child: Child) -> subprocess.Popen[bytes]:
        process = child.process = subprocess.Popen(  # noqa: S603 - argv built by us, no shell
            child.spec.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.env,
            pass_fds=child.spec.pass_fds,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        if process.stdout is not None:
            child.pump = threading.Thread(target=self._pump, args=(child, process.stdout), daemon=True)
            child.pump.start()
        self.say("serve", f"started {child.spec.name} (pid {process.pid})")
        return process

    def _wait_ready(self, child: Child, process: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while child.spec.ready is not None and not child.spec.ready():
            if process.poll() is not None or time.monotonic() > deadline or self.stop_requested.is_set():
                return False
            time.sleep(0.05)
        return True

    def _start_all(self) -> bool:
        for child in self.children:
            if not self._wait_ready(child, self._spawn(child)):
                if not self.stop_requested.is_set():
                    self.say("serve", f"{child.spec.name} did not become ready; stopping")
                return False
        return True

    # -- watching ------------------------------------------------------------
    def _watch(self, child: Child, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restarts += 1
                self._spawn(child)
            return
        code = child.process.poll() if child.process is not None else None
        if code is None:
            return
        self._reaped(child)
        if now - child.started_at > STABLE_AFTER:
            child.backoff = BACKOFF_FIRST
        self.say("serve", f"{child.spec.name} exited ({describe(code)}); restarting in {child.backoff:.0f}s")
        child.restart_at = now + child.backoff
        child.backoff = min(child.backoff * 2, BACKOFF_MAX)

    # -- stopping ------------------------------------------------------------
    def _on_signal(self, signum: int, frame: object) -> None:
        self.signals += 1
        if self.signals == 1:
            self.say("serve", f"{signal.Signals(signum).name} received: stopping (again to force)")
            self.stop_requested.set()
        else:
            self.say("serve", "forced stop: killing every child")
            for child in self.children:
                self._kill(child)

    @staticmethod
    def _alive(children: list[Child]) -> list[tuple[Child, subprocess.Popen[bytes]]]:
        return [(c, c.process) for c in children if c.process is not None and c.process.poll() is None]

    def _kill(self, child: Child) -> None:
        for _, process in self._alive([child]):
            # The child leads its own process group: take its workers too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def _reaped(self, child: Child) -> None:
        if self.metrics is not None and child.process is not None:
            self.metrics.process_dead(child.process.pid)

    def _stop_stage(self, stage: list[Child], deadline: float) -> bool:
        running = self._alive(stage)
        started = time.monotonic()
        for _, process in running:
            process.send_signal(signal.SIGTERM)
        clean = True
        for child, process in running:
            budget = min(started + child.spec.stop_timeout, deadline) - time.monotonic()
            try:
                code = process.wait(max(budget, 0))
                self._reaped(child)
                self.say("serve", f"{child.spec.name} stopped ({describe(code)}) in {time.monotonic() - started:.1f}s")
            except subprocess.TimeoutExpired:
                self.say("serve", f"{child.spec.name} did not stop in time: killed")
                self._kill(child)
                process.wait()
                self._reaped(child)
                clean = False
        return clean

    def _stop_all(self) -> bool:
        deadline = time.monotonic() + STOP_DEADLINE
        clean = True
        for stage in sorted({c.spec.stop_stage for c in self.children}):
            members = [c for c in self.children if c.spec.stop_stage == stage]
            clean = self._stop_stage(members, deadline) and clean
        for child in self.children:
            if child.pump is not None:
                child.pump.join(timeout=1)
        return clean

    # -- the whole life ------------------------------------------------------
    def run(self, on_started: Callable[[], None] | None = None) -> int:
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        self.metrics = MultiprocessDir(self.env.get(MULTIPROC_ENV))
        self.env = {**self.env, MULTIPROC_ENV: self.metrics.path}  # read by prometheus_client in every child
        try:
            started = self._start_all()
            if started and on_started is not None:
                on_started()
            while started and not self.stop_requested.wait(POLL):
                now = time.monotonic()
                for child in self.children:
                    self._watch(child, now)
            clean = self._stop_all()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.metrics.close()
        if not started and not self.stop_requested.is_set():
            return 1
        self.say("serve", "all stopped" if clean else "stopped, some children had to be killed")
        return 0 if clean else 1
