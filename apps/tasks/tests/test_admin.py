"""The periodic jobs' admin: last run and result recorded by a real worker, and "run now"."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.accounts.tests.factories import UserFactory
from apps.feeders.models import FeedCommand
from apps.feeders.services import meals as meal_services
from apps.feeders.tests.factories import ScheduleFactory
from apps.tasks.models import JobRun
from catfeeder.testing import CeleryWorker, wait_until

CHANGELIST = "/admin/django_celery_beat/periodictask/"


@pytest.fixture
def operator_client(db: None) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_run_now_runs_the_job_in_a_worker_and_the_list_shows_its_last_result(
    celery_worker: CeleryWorker, operator_client: Client
) -> None:
    call_command("setup_periodic_tasks", verbosity=0)
    job = PeriodicTask.objects.get(name="feed command reconciler")
    response = operator_client.post(CHANGELIST, {"action": "run_now", "_selected_action": [job.pk]})
    assert response.status_code == 302
    wait_until(JobRun.objects.filter(task=job.task, last_status="ok").exists, timeout=30, what="the job ran")
    page = operator_client.get(CHANGELIST).content.decode()
    assert "0 sent again, 0 expired, 0 missed" in page
    assert JobRun.objects.get(task=job.task).runs == 1


def test_charlie_who_is_no_operator_cannot_run_jobs(charlie: object, client: Client) -> None:
    client.force_login(charlie)  # type: ignore[arg-type]
    call_command("setup_periodic_tasks", verbosity=0)
    job = PeriodicTask.objects.get(name="feed command reconciler")
    response = client.post(CHANGELIST, {"action": "run_now", "_selected_action": [job.pk]})
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert not JobRun.objects.exists()


@pytest.mark.django_db
def test_a_schedules_page_lists_its_slots_and_a_commands_page_its_history(operator_client: Client) -> None:
    schedule = ScheduleFactory()
    schedule.next_run_at = timezone.now()
    schedule.save()
    meal_services.meal_slots_dispatch(enqueue=lambda ids: None)
    command = FeedCommand.objects.get()
    page = operator_client.get(f"/admin/feeders/mealschedule/{schedule.pk}/change/")
    assert page.status_code == 200
    assert "Pending" in page.content.decode()
    page = operator_client.get(f"/admin/feeders/feedcommand/{command.pk}/change/")
    assert page.status_code == 200
    assert "Deliveries" in page.content.decode()
