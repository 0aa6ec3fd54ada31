"""Record each periodic job's runs (JobRun) for the admin, in the worker that runs them."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from celery import signals

from apps.tasks.periodic import periodic_jobs
from apps.tasks.services import job_run_finished, job_run_started

logger = logging.getLogger(__name__)


@cache
def _periodic_tasks() -> frozenset[str]:
    return frozenset(job.task for job in periodic_jobs())


def _name(task: Any) -> str | None:
    name = getattr(task, "name", None)
    return name if name in _periodic_tasks() else None


@signals.task_prerun.connect
def job_started(task: Any = None, **kwargs: Any) -> None:
    if (name := _name(task)) is not None:
        try:
            job_run_started(task=name)
        except Exception as exc:  # noqa: BLE001 - a record must never stop the job itself
            logger.warning("cannot record the start of %s: %s", name, exc)


@signals.task_postrun.connect
def job_finished(task: Any = None, retval: Any = None, state: str | None = None, **kwargs: Any) -> None:
    if (name := _name(task)) is not None:
        ok = state == "SUCCESS"
        try:
            job_run_finished(task=name, ok=ok, result=str(retval if retval is not None else state or ""))
        except Exception as exc:  # noqa: BLE001
            logger.warning("cannot record the end of %s: %s", name, exc)
