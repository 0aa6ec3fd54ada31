"""Periodic jobs in the admin: django-celery-beat's page, plus each job's last run and result, and "run now"."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from apps.tasks.models import JobRun
from apps.tasks.services import periodic_job_run_now

admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(BeatPeriodicTaskAdmin):
    list_display = ("name", "enabled", "interval", "last_run_at", "last_finished", "last_status", "last_result")
    actions = [*BeatPeriodicTaskAdmin.actions, "run_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PeriodicTask]:
        runs = JobRun.objects.filter(task=OuterRef("task"))
        queryset: QuerySet[PeriodicTask] = (
            super()
            .get_queryset(request)
            .annotate(
                run_finished=Subquery(runs.values("last_finished_at")[:1]),
                run_status=Subquery(runs.values("last_status")[:1]),
                run_result=Subquery(runs.values("last_result")[:1]),
            )
        )
        return queryset

    @admin.display(description="last finished", ordering="run_finished")
    def last_finished(self, task: Any) -> Any:
        return task.run_finished

    @admin.display(description="last status")
    def last_status(self, task: Any) -> str:
        return str(task.run_status or "never run")

    @admin.display(description="last result")
    def last_result(self, task: Any) -> str:
        return str(task.run_result or "")[:120]

    @admin.action(description="Run now (once, beside the schedule)")
    def run_now(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        names = [periodic_job_run_now(task=task) for task in queryset]
        self.message_user(request, f"Sent now: {', '.join(names)}.", messages.SUCCESS)


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin[JobRun]):
    list_display = ("task", "last_started_at", "last_finished_at", "last_status", "runs", "failures")
    readonly_fields = ("task", "last_started_at", "last_finished_at", "last_status", "last_result", "runs", "failures")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
