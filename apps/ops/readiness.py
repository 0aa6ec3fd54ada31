"""Check results kept for a moment, so that probes and middleware do not hammer the services.

`/health/ready` waits for a fresh run when its copy is older than a second;
the middleware never waits: it takes the last run and, when that is stale,
starts a new one in the background. A load balancer polling every instance
every second thus costs one run of the critical checks per instance per
second at most.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field

from apps.ops.health import TIMED_OUT, CheckResult, Status, checks_registered, checks_run

READY_MAX_AGE = 1.0  # seconds a readiness answer may be reused
WRITES_MAX_AGE = 2.0  # seconds the middleware trusts a run before refreshing it in the background
SHOWN_MAX_AGE = 3.0  # seconds before the shown-only checks (a storage canary: three requests) run again


@dataclass(frozen=True)
class Run:
    results: list[CheckResult] = field(default_factory=list)
    at: float = 0.0  # time.monotonic()

    @property
    def critical_down(self) -> list[str]:
        return [r.name for r in self.results if r.critical and r.status is Status.DOWN]

    @property
    def down(self) -> list[str]:
        return [f"{r.name} down" for r in self.results if r.status is Status.DOWN]

    @property
    def degraded(self) -> list[str]:
        return [f"{r.name} degraded" for r in self.results if r.status is Status.DEGRADED]


class _CachedRun:
    def __init__(self, *, critical_only: bool) -> None:
        self.critical_only = critical_only
        self.run = Run()
        self.lock = threading.Lock()
        self.refreshing = False
        # forget() moves it on: a run asked for before is not kept (it may have used checks since changed)
        self.generation = 0

    def _refresh(self, generation: int) -> Run:
        if self.critical_only:
            results = checks_run(critical_only=True)
        else:
            results = checks_run(names=[c.name for c in checks_registered() if c.shown_in_ready and not c.critical])
        run = Run(first_timeouts_degraded(results, self.run), time.monotonic())
        if generation == self.generation:
            self.run = run
        return run

    def get(self, *, max_age: float, wait: bool) -> Run:
        if time.monotonic() - self.run.at < max_age:
            return self.run
        generation = self.generation
        if wait:
            with self.lock:  # one refresh at a time; the others then reuse it
                if time.monotonic() - self.run.at < max_age:
                    return self.run
                return self._refresh(generation)
        if not self.refreshing:
            self.refreshing = True
            name = "readiness-refresh"
            threading.Thread(target=self._background, args=(generation,), name=name, daemon=True).start()
        return self.run

    def _background(self, generation: int) -> None:
        try:
            with self.lock:
                self._refresh(generation)
        finally:
            self.refreshing = False

    def forget(self) -> None:
        """Drop the last run, and any run asked for until now when it ends (a test's checks changed)."""
        self.generation += 1
        self.run = Run()


def first_timeouts_degraded(results: list[CheckResult], previous: Run) -> list[CheckResult]:
    """A check that did not answer in time is down only the second run in a row; the first, degraded.

    On a machine starved of CPU one probe can miss its timeout while its service is well: down,
    it refused every write and took the instance out of the balancer for a run. A service that
    refuses or fails is down at once; a hung one, a run later (its requests meet the response
    deadline meanwhile).
    """
    timed_out_before = {r.name for r in previous.results if r.detail.startswith(TIMED_OUT)}
    return [
        dataclasses.replace(r, status=Status.DEGRADED, detail=f"{r.detail} (down if again)")
        if r.status is Status.DOWN and r.detail.startswith(TIMED_OUT) and r.name not in timed_out_before
        else r
        for r in results
    ]


critical_runs = _CachedRun(critical_only=True)
shown_runs = _CachedRun(critical_only=False)


def readiness_get(*, wait: bool = False, max_age: float = WRITES_MAX_AGE) -> Run:
    return critical_runs.get(max_age=max_age, wait=wait)


def readiness_last() -> Run:
    """The last run of the critical checks, however old; never starts one (a request's hot path)."""
    return critical_runs.run


def readiness_shared() -> Run:
    """The last run of the shared services' checks (storage, mail); never waits."""
    return shown_runs.get(max_age=SHOWN_MAX_AGE, wait=False)
