from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.accounts.models import User
from apps.ops.controls import CONTROLS
from apps.ops.models import AuditEntry, Maintenance
from catfeeder.testing import CeleryWorker, process_env

pytestmark = pytest.mark.django_db(transaction=True)


def control_url(name: str) -> str:
    return f"/admin/ops/servicestatus/controls/{name}/"


def as_user(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_non_superusers_get_403_on_every_control(name: str, staff: User, alice: User) -> None:
    for client in (as_user(None), as_user(staff), as_user(alice)):
        assert client.post(control_url(name), {"target": ""}).status_code == 403
        assert client.get(control_url(name) + "confirm/").status_code == 403
    assert Maintenance.objects.count() == 0  # nothing happened
    denied = AuditEntry.objects.filter(action=name, result="denied")
    assert sorted(denied.values_list("actor_label", flat=True)) == ["alice@example.com", "staff@example.com"]


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_get_on_a_control_is_405(name: str, superuser: User) -> None:
    response = as_user(superuser).get(control_url(name))
    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_each_control_has_a_confirmation_page_that_posts_with_csrf(name: str, superuser: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    page = client.get(control_url(name) + "confirm/?target=web-1").content.decode()
    assert f'action="{control_url(name)}"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert client.post(control_url(name)).status_code == 403  # no CSRF token: refused


# Targets that reach nothing: "all" would drain or stop the session's shared server and worker.
HARMLESS_TARGETS = {"web-drain": "nohost:1:abc", "worker-shutdown": "nobody@nowhere"}


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_every_control_a_superuser_runs_writes_one_audit_row(name: str, superuser: User) -> None:
    given = {"target": HARMLESS_TARGETS.get(name, ""), "message": "chaos drill", "retry_after": "60"}
    response = as_user(superuser).post(control_url(name), given, REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 302
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.actor_label, entry.ip) == (name, "root@example.com", "192.0.2.7")
    assert entry.result in {"ok", "failed"}
    assert entry.detail


def test_the_warm_shutdown_control_stops_the_chosen_worker_and_is_audited(superuser: User, process_logs: Path) -> None:
    # A worker of this test's own, on a queue of its own; only it is named, so only it stops.
    worker = CeleryWorker(env=process_env(), log_dir=process_logs, queues=[f"ctl-{uuid.uuid4().hex[:8]}"])
    try:
        response = as_user(superuser).post(control_url("worker-shutdown"), {"target": worker.hostname})
        assert response.status_code == 302
        code = worker.popen.wait(60)
    finally:
        worker.stop()
    assert code == 0, worker.output()
    entry = AuditEntry.objects.get(action="worker-shutdown")
    assert (entry.actor_label, entry.target, entry.result) == ("root@example.com", worker.hostname, "ok")
    assert entry.detail == f"warm shutdown sent to {worker.hostname}"


def test_maintenance_on_and_off_are_audited(superuser: User) -> None:
    client = as_user(superuser)
    response = client.post(control_url("maintenance-on"), {"message": "DB upgrade", "retry_after": "90"})
    assert response.status_code == 302
    row = Maintenance.objects.get()
    assert (row.enabled, row.message, row.retry_after, row.changed_by) == (True, "DB upgrade", 90, "root@example.com")
    client.post(control_url("maintenance-off"))
    assert Maintenance.objects.get().enabled is False
    audit = list(AuditEntry.objects.order_by("at").values_list("actor_label", "action", "result", "detail"))
    assert audit == [
        ("root@example.com", "maintenance-on", "ok", "maintenance on (Retry-After 90s)"),
        ("root@example.com", "maintenance-off", "ok", "maintenance off"),
    ]


def test_pause_and_resume_keep_the_heartbeat_and_an_operators_off_switch(superuser: User) -> None:
    call_command("setup_periodic_tasks", verbosity=0)
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="reconcile", task="x.reconcile", interval=every_minute)
    PeriodicTask.objects.create(name="cleanup", task="x.cleanup", interval=every_minute, enabled=False)
    client = as_user(superuser)

    others = PeriodicTask.objects.exclude(name__in=["beat heartbeat", "service status record", "reconcile", "cleanup"])
    declared = others.filter(enabled=True).count()  # the other jobs periodic.py declares

    client.post(control_url("periodic-pause"))
    enabled = dict(PeriodicTask.objects.values_list("name", "enabled"))
    assert {k: enabled[k] for k in ("beat heartbeat", "service status record", "reconcile", "cleanup")} == {
        "beat heartbeat": True, "service status record": True, "reconcile": False, "cleanup": False}  # fmt: skip
    assert not others.filter(enabled=True).exists()

    client.post(control_url("periodic-resume"))
    enabled = dict(PeriodicTask.objects.values_list("name", "enabled"))
    assert {k: enabled[k] for k in ("beat heartbeat", "service status record", "reconcile", "cleanup")} == {
        "beat heartbeat": True, "service status record": True, "reconcile": True, "cleanup": False}  # fmt: skip
    assert others.filter(enabled=True).count() == declared
    assert list(AuditEntry.objects.order_by("at").values_list("detail", flat=True)) == [
        f"{1 + declared} periodic job(s) paused",
        f"{1 + declared} periodic job(s) resumed",
    ]


def test_a_control_that_fails_is_audited_as_failed(superuser: User) -> None:
    response = as_user(superuser).post(control_url("web-drain"), {"target": "nohost:1:abc"})
    assert response.status_code == 302
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.target, entry.result) == ("web-drain", "nohost:1:abc", "failed")
    assert "no running web instance nohost:1:abc" in entry.detail


def test_the_status_page_shows_every_service_and_the_controls_to_superusers(superuser: User, staff: User) -> None:
    page = as_user(superuser).get("/admin/ops/servicestatus/").content.decode()
    for name in ("database", "cache", "broker", "channel_layer", "workers", "beat", "storage", "mail", "mqtt", "web"):
        assert f"<td>{name}" in page
    assert "Drain and stop all web instances" in page
    assert as_user(superuser).get("/admin/ops/servicestatus/table/").status_code == 200
    assert as_user(staff).get("/admin/ops/servicestatus/").status_code == 403  # staff without the view permission
