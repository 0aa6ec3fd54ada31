"""The Celery app: configured from Django settings named CELERY_*."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from catfeeder.runtime.heap import gc_settle

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catfeeder.settings.base")

app = Celery("catfeeder")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def heap_settle(**_: Any) -> None:
    """Each pool process, once forked and set up: see catfeeder/runtime/heap.py."""
    from django.conf import settings

    gc_settle(young=settings.GC_YOUNG_THRESHOLD)
