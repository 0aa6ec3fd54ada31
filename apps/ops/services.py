from __future__ import annotations

from datetime import datetime

from django.core.cache import cache

BEAT_TICK_KEY = "ops:beat:last_tick"
BEAT_TICK_TTL = 24 * 3600  # seconds: an old tick still tells "beat stopped at …"


def beat_tick_record(*, at: datetime) -> None:
    cache.set(BEAT_TICK_KEY, at.isoformat(), timeout=BEAT_TICK_TTL)
