"""catfeeder/runtime/heap.py: what start-up made is frozen, young collections are spaced out."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from catfeeder.runtime.heap import gc_settle


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_settling_freezes_the_heap_and_sets_the_young_threshold() -> None:
    _, middle, old = gc.get_threshold()
    gc_settle(young=12_345)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (12_345, middle, old)


@pytest.mark.usefixtures("restored_gc")
def test_zero_keeps_cpythons_threshold() -> None:
    before = gc.get_threshold()
    gc_settle(young=0)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
