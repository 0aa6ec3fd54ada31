from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from celery import current_app as app
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask, PeriodicTasks

from apps.ops.health import CheckResult, checks_run
from apps.ops.instance import GROUP
from apps.ops.models import AuditEntry, Maintenance, PeriodicPause, ServiceStatus, StatusChange
from apps.ops.probes import WORKER_PING_TIMEOUT, broker_connection
from apps.ops.redis import BEAT_KEY, WORKERS_KEY, redis_client
from apps.ops.selectors import BEAT_TICK_KEY, maintenance_cache, web_instances_list

if TYPE_CHECKING:
    from apps.accounts.models import User

logger = logging.getLogger(__name__)

BEAT_TICK_TTL = 24 * 3600  # seconds: an old tick still tells "beat stopped at …"
# Operations' own jobs: beat's pulse keeps the beat check honest, the recorder keeps the history.
UNPAUSABLE_TASKS = {"apps.tasks.tasks.beat_heartbeat_task", "apps.tasks.tasks.service_statuses_record_task"}


def beat_tick_record(*, at: datetime) -> None:
    cache.set(BEAT_TICK_KEY, at.isoformat(), timeout=BEAT_TICK_TTL)


# -- registries of processes (Redis) ------------------------------------------
def beat_process_record(*, host: str, pid: int) -> None:
    started = datetime.now(UTC).isoformat()
    redis_client().set(BEAT_KEY, json.dumps({"host": host, "pid": pid, "started_at": started}))


def worker_record(*, hostname: str, stopped: bool = False) -> None:
    now = datetime.now(UTC).isoformat()
    info = {"host": socket.gethostname(), "pid": os.getpid(), "seen_at": now, "stopped_at": now if stopped else None}
    redis_client().hset(WORKERS_KEY, hostname, json.dumps(info))


# -- status history ------------------------------------------------------------
def service_statuses_record(*, results: Iterable[CheckResult]) -> list[str]:
    """Store each service's status; a change writes one StatusChange. Returns the names that changed.

    The update is a compare-and-set on the previous status, so two processes
    recording the same flip at once write it once.
    """
    changed = []
    for result in results:
        fields = {"detail": result.detail[:2000], "latency_ms": result.latency_ms, "critical": result.critical}
        with transaction.atomic():
            row = ServiceStatus.objects.filter(name=result.name).first()
            if row is None:
                ServiceStatus.objects.create(
                    name=result.name, status=result.status, checked_at=result.checked_at,
                    changed_at=result.checked_at, **fields,
                )  # fmt: skip
                StatusChange.objects.create(service=result.name, status_to=result.status, detail=result.detail,
                                            at=result.checked_at)  # fmt: skip
                changed.append(result.name)
                continue
            if row.status == result.status:
                ServiceStatus.objects.filter(pk=row.pk).update(checked_at=result.checked_at, **fields)
                continue
            won = ServiceStatus.objects.filter(pk=row.pk, status=row.status).update(
                status=result.status, checked_at=result.checked_at, changed_at=result.checked_at, **fields
            )
            if won:
                StatusChange.objects.create(service=result.name, status_from=row.status, status_to=result.status,
                                            detail=result.detail[:2000], at=result.checked_at)  # fmt: skip
                changed.append(result.name)
    return changed


def service_statuses_refresh() -> list[str]:
    """Run every check now and record the statuses; returns the services whose status changed."""
    return service_statuses_record(results=checks_run())


# -- audit ------------------------------------------------------------------------
def audit_record(
    *, actor: User | None, action: str, target: str = "", result: str, detail: str = "", ip: str | None = None
) -> None:
    label = actor.email if actor is not None else "system"
    AuditEntry.objects.create(
        actor=actor, actor_label=label, action=action, target=target, result=result, detail=detail[:4000], ip=ip
    )
    log = logger.warning if result != "ok" else logger.info
    log("audit: %s %s %s -> %s %s", label, action, target, result, detail)


# -- controls ------------------------------------------------------------------------
def maintenance_set(*, enabled: bool, by: str, message: str = "", retry_after: int = 300) -> None:
    Maintenance.objects.update_or_create(
        pk=1,
        defaults={
            "enabled": enabled,
            "message": message,
            "retry_after": retry_after,
            "changed_at": timezone.now(),
            "changed_by": by,
        },
    )
    maintenance_cache.forget()  # this process sees it at once, the others within seconds


@transaction.atomic
def periodic_jobs_pause(*, by: str) -> int:
    """Switch every enabled periodic job off (beat's heartbeat excepted); returns how many."""
    tasks = list(PeriodicTask.objects.select_for_update().filter(enabled=True).exclude(task__in=UNPAUSABLE_TASKS))
    for task in tasks:
        PeriodicPause.objects.get_or_create(task=task, defaults={"paused_by": by})
    PeriodicTask.objects.filter(pk__in=[t.pk for t in tasks]).update(enabled=False)
    PeriodicTasks.update_changed()  # a bulk update sends no signal: tell beat to reload
    return len(tasks)


@transaction.atomic
def periodic_jobs_resume() -> int:
    """Switch back on exactly the jobs the pause switched off; returns how many."""
    ids = list(PeriodicPause.objects.values_list("task_id", flat=True))
    PeriodicTask.objects.filter(pk__in=ids).update(enabled=True)
    PeriodicPause.objects.all().delete()
    PeriodicTasks.update_changed()
    return len(ids)


def web_instances_drain(*, by: str, instance_id: str | None = None) -> int:
    """Ask one web instance (or all) to drain and stop, through the channel layer; returns how many asked."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    running = [i for i in web_instances_list() if i["state"] in ("running", "draining")]
    message: dict[str, Any] = {"type": "ops.drain", "by": by, "code": 1001, "instance": instance_id or "*"}
    if instance_id is None:
        async_to_sync(layer.group_send)(GROUP, message)
        return len(running)
    target = next((i for i in running if i["id"] == instance_id), None)
    if target is None or not target.get("channel"):
        raise LookupError(f"no running web instance {instance_id}")
    async_to_sync(layer.send)(target["channel"], message)
    return 1


def workers_shutdown(*, hostname: str | None = None) -> list[str]:
    """Warm shutdown (running tasks finish) of one worker or all; returns the workers asked."""
    with broker_connection() as conn:
        destination = [hostname] if hostname else None
        answering = app.control.ping(destination=destination, timeout=WORKER_PING_TIMEOUT, connection=conn) or []
        names = [name for reply in answering for name in reply]
        if not names:
            raise LookupError(f"no worker answers{f' as {hostname}' if hostname else ''}")
        app.control.shutdown(destination=names, connection=conn)
    return names


def worker_ping_enqueue() -> str:
    """Send a ping task to the workers; returns its id. Raises when the broker cannot take it."""
    with broker_connection() as conn:
        result = app.send_task("apps.tasks.tasks.worker_ping_task", connection=conn, retry=False)
    return str(result.id)
