"""The operator's controls: what each does, what it asks for, and how it is audited.

Each control is confirmed on a page of its own, run by a POST from a
superuser, and written to the audit log with its result, whatever happens.
The admin (`apps.ops.admin`) only shows them and passes the request here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apps.ops import services

if TYPE_CHECKING:
    from apps.accounts.models import User


@dataclass(frozen=True)
class ControlInput:
    target: str = ""  # a web instance id or a worker hostname; empty means all
    message: str = ""
    retry_after: int = 300  # seconds


@dataclass(frozen=True)
class Control:
    name: str
    title: str
    explains: str  # shown on the confirmation page
    run: Callable[[User, ControlInput], str]  # returns what happened; raises when it failed
    targeted: bool = False
    asks_message: bool = False


def _drain(user: User, given: ControlInput) -> str:
    count = services.web_instances_drain(by=user.email, instance_id=given.target or None)
    return f"drain and stop requested for {count} web instance(s)"


def _worker_shutdown(user: User, given: ControlInput) -> str:
    names = services.workers_shutdown(hostname=given.target or None)
    return f"warm shutdown sent to {', '.join(names)}"


def _pause(user: User, given: ControlInput) -> str:
    return f"{services.periodic_jobs_pause(by=user.email)} periodic job(s) paused"


def _resume(user: User, given: ControlInput) -> str:
    return f"{services.periodic_jobs_resume()} periodic job(s) resumed"


def _maintenance_on(user: User, given: ControlInput) -> str:
    services.maintenance_set(enabled=True, by=user.email, message=given.message, retry_after=given.retry_after)
    return f"maintenance on (Retry-After {given.retry_after}s)"


def _maintenance_off(user: User, given: ControlInput) -> str:
    services.maintenance_set(enabled=False, by=user.email)
    return "maintenance off"


CONTROLS = {
    control.name: control
    for control in [
        Control(
            "web-drain",
            "Drain and stop web instances",
            "Readiness answers 503 at once and new sockets are refused; open sockets are closed with 1001 "
            "(going away); requests in flight finish; then the process exits 0. Under `manage.py serve` the "
            "supervisor starts a fresh one, so this is also a rolling restart.",
            _drain,
            targeted=True,
        ),
        Control(
            "worker-shutdown",
            "Warm shutdown of workers",
            "The worker stops taking tasks, finishes the ones it runs, and exits. Queued tasks stay in the "
            "broker for the other workers (or for this one when it is started again).",
            _worker_shutdown,
            targeted=True,
        ),
        Control(
            "periodic-pause",
            "Pause periodic jobs",
            "Every enabled periodic job is switched off, except beat's own heartbeat. Resume switches back "
            "on exactly these; jobs that were already off stay off.",
            _pause,
        ),
        Control("periodic-resume", "Resume periodic jobs", "Switch back on the jobs the pause switched off.", _resume),
        Control(
            "maintenance-on",
            "Maintenance mode on",
            "API writes answer 503 (problem+json, with Retry-After); reads go on; pages show a banner; the "
            "admin keeps working.",
            _maintenance_on,
            asks_message=True,
        ),
        Control("maintenance-off", "Maintenance mode off", "API writes are accepted again.", _maintenance_off),
    ]
}


def control_run(*, control: Control, user: User, given: ControlInput, ip: str | None) -> tuple[bool, str]:
    """Run a control and audit it; returns (succeeded, what happened)."""
    try:
        outcome, ok = control.run(user, given), True
    except Exception as exc:  # noqa: BLE001 - a failed control is reported and audited, not raised
        outcome, ok = f"{type(exc).__name__}: {exc}", False
    services.audit_record(
        actor=user, action=control.name, target=given.target or "all", result="ok" if ok else "failed",
        detail=outcome, ip=ip,
    )  # fmt: skip
    return ok, outcome


def control_deny(*, name: str, user: User, ip: str | None) -> None:
    services.audit_record(actor=user, action=name, result="denied", detail="not a superuser", ip=ip)
