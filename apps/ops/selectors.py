from __future__ import annotations

from datetime import datetime

from django.core.cache import cache

from apps.ops.services import BEAT_TICK_KEY


def beat_last_tick() -> datetime | None:
    value = cache.get(BEAT_TICK_KEY)
    return datetime.fromisoformat(value) if value else None
