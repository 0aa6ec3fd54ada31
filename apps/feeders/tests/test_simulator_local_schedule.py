"""The simulator's firmware side of "local_schedule": which slots it serves itself, and its link plan."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.feeders.management.local_schedule import LocalSchedule, OfflinePlan

UTC = dt.UTC
SYNC = {
    "version": 3,
    "local_grace": 60,
    "meals": [{"key": "7.0", "time": "07:30", "days": [1, 2, 3, 4, 5, 6, 7], "grams": 20, "pet_id": 1,
               "time_zone": "UTC"}],
}  # fmt: skip


def test_a_slot_is_served_once_its_grace_is_over_and_never_twice() -> None:
    local = LocalSchedule(since=dt.datetime(2026, 12, 7, 0, 0, tzinfo=UTC))
    assert local.take(SYNC)
    assert local.due(dt.datetime(2026, 12, 7, 7, 30, 59, tzinfo=UTC)) == []
    assert local.due(dt.datetime(2026, 12, 7, 7, 31, tzinfo=UTC)) == [("7.0@2026-12-07", 20)]
    local.served.add("7.0@2026-12-07")
    assert local.due(dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC)) == []


def test_slots_before_the_device_ran_are_not_its_to_serve_and_an_older_sync_is_ignored() -> None:
    local = LocalSchedule(since=dt.datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    local.take(SYNC)
    assert local.due(dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC)) == []
    assert not local.take({**SYNC, "version": 2, "meals": []})
    assert local.meals == SYNC["meals"]


def test_the_link_plan_says_when_it_is_down_and_when_it_comes_back() -> None:
    plan = OfflinePlan.of([60, 200], [180, 210])
    assert (plan.offline(59), plan.offline(60), plan.offline(180), plan.offline(205)) == (False, True, False, True)
    assert (plan.cut_in(10), plan.back_in(100), plan.cut_in(300)) == (50, 80, None)
    with pytest.raises(ValueError, match="--online-at"):
        OfflinePlan.of([60], [])
    with pytest.raises(ValueError, match="--online-at"):
        OfflinePlan.of([60], [30])
