from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from apps.feeders.errors import AllowanceExceeded
from apps.feeders.models import FeedEvent, FeedSource
from apps.feeders.selectors.allowance import pet_allowance, pet_may_feed
from apps.feeders.services.pets import pet_feed
from apps.feeders.tests.factories import FeederFactory, PetFactory

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def pet_and_feeder(db: None):  # type: ignore[no-untyped-def]
    pet = PetFactory(allowance_grams=80, time_zone="Europe/Paris", period_anchor=dt.time(7, 0))
    return pet, FeederFactory(household=pet.household)


def test_it_feeds_within_the_allowance(pet_and_feeder) -> None:  # type: ignore[no-untyped-def]
    pet, feeder = pet_and_feeder
    pet_feed(pet=pet, feeder=feeder, grams=50, source=FeedSource.DEVICE, at=utc(2026, 6, 10, 8, 0))
    allowance = pet_allowance(pet=pet, now=utc(2026, 6, 10, 9, 0))
    assert (allowance.eaten_grams, allowance.remaining_grams) == (50, 30)


def test_it_refuses_a_pet_over_its_allowance_and_records_nothing(pet_and_feeder) -> None:  # type: ignore[no-untyped-def]
    pet, feeder = pet_and_feeder
    pet_feed(pet=pet, feeder=feeder, grams=60, source=FeedSource.DEVICE, at=utc(2026, 6, 10, 8, 0))
    with pytest.raises(AllowanceExceeded, match="60 g of 80 g eaten") as refused:
        pet_feed(pet=pet, feeder=feeder, grams=30, source=FeedSource.OWNER, at=utc(2026, 6, 10, 9, 0))
    assert refused.value.status == 409
    assert FeedEvent.objects.count() == 1  # refused, not capped to 20 g


def test_the_allowance_resets_at_the_local_anchor(pet_and_feeder) -> None:  # type: ignore[no-untyped-def]
    pet, feeder = pet_and_feeder
    pet_feed(pet=pet, feeder=feeder, grams=80, source=FeedSource.DEVICE, at=utc(2026, 6, 10, 4, 59))  # 06:59 CEST
    assert not pet_may_feed(pet=pet, grams=1, now=utc(2026, 6, 10, 4, 59, 59)).allowed
    decision = pet_may_feed(pet=pet, grams=10, now=utc(2026, 6, 10, 5, 0))  # 07:00 CEST: a new period
    assert decision.allowed
    assert decision.remaining_grams == 80


def test_the_allowance_period_follows_the_wall_clock_across_dst(pet_and_feeder) -> None:  # type: ignore[no-untyped-def]
    pet, feeder = pet_and_feeder
    # Saturday 07:00 CET (06:00 UTC) to Sunday 07:00 CET after the fall-back night: 25 h.
    pet_feed(pet=pet, feeder=feeder, grams=80, source=FeedSource.DEVICE, at=utc(2026, 10, 24, 5, 30))
    assert not pet_may_feed(pet=pet, grams=1, now=utc(2026, 10, 25, 5, 30)).allowed  # 06:30 CET, same period
    assert pet_may_feed(pet=pet, grams=1, now=utc(2026, 10, 25, 6, 0)).allowed  # 07:00 CET


def test_a_repeated_event_id_is_a_no_op(pet_and_feeder) -> None:  # type: ignore[no-untyped-def]
    pet, feeder = pet_and_feeder
    first = pet_feed(pet=pet, feeder=feeder, grams=50, source=FeedSource.DEVICE, event_id="e-1")
    again = pet_feed(pet=pet, feeder=feeder, grams=50, source=FeedSource.DEVICE, event_id="e-1")
    assert again.pk == first.pk
    assert FeedEvent.objects.count() == 1


def test_the_same_event_id_from_another_feeder_is_another_event(pet_and_feeder) -> None:  # type: ignore[no-untyped-def]
    pet, feeder = pet_and_feeder
    other = FeederFactory(household=pet.household)
    pet_feed(pet=pet, feeder=feeder, grams=20, source=FeedSource.DEVICE, event_id="e-1")
    pet_feed(pet=pet, feeder=other, grams=20, source=FeedSource.DEVICE, event_id="e-1")
    assert FeedEvent.objects.count() == 2


def test_may_feed_without_grams_offers_what_is_left(pet_and_feeder) -> None:  # type: ignore[no-untyped-def]
    pet, feeder = pet_and_feeder
    pet_feed(pet=pet, feeder=feeder, grams=30, source=FeedSource.DEVICE)
    decision = pet_may_feed(pet=pet)
    assert (decision.allowed, decision.grams, decision.eaten_grams) == (True, 50, 30)


@pytest.mark.django_db(transaction=True)
def test_concurrent_feeds_never_exceed_the_allowance() -> None:
    pet = PetFactory(allowance_grams=100)
    feeders = [FeederFactory(household=pet.household) for _ in range(2)]
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def feed(n: int) -> None:
        try:
            barrier.wait()
            pet_feed(pet=pet, feeder=feeders[n % 2], grams=30, source=FeedSource.DEVICE)
            outcomes.append("fed")
        except AllowanceExceeded:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=feed, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["fed"] * 3 + ["refused"] * 5
    assert sum(FeedEvent.objects.values_list("grams", flat=True)) == 90
