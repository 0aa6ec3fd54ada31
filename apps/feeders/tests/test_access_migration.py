"""The access migration from the schema before it, with data: nothing is refused that was allowed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.feeders.models import Feeder, FeederExclusion, MealSchedule, Pet
from apps.feeders.selectors.access import feeder_pets_allowed, pet_may_use_feeder
from apps.feeders.services.pets import feeder_may_feed

BEFORE = [("feeders", "0005_feed_source_home_assistant")]
AFTER = [("feeders", "0006_feeder_exclusions")]


@pytest.fixture
def before_access(transactional_db: None) -> Iterator[MigrationExecutor]:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        yield executor
    finally:  # whatever happened, the next test gets the whole schema back
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_pets_may_still_eat_at_every_feeder_of_their_owner(before_access: MigrationExecutor) -> None:
    old = before_access.loader.project_state(BEFORE).apps
    user = old.get_model("accounts", "User").objects.create(email="old@example.com")
    feeders = [old.get_model("feeders", "Feeder").objects.create(owner=user, name=n, mac=m)
               for n, m in (("Kitchen", "F0:00:00:00:00:01"), ("Garden", "F0:00:00:00:00:02"))]  # fmt: skip
    beacon = old.get_model("feeders", "Beacon").objects.create(owner=user, name="Red", mac="B0:00:00:00:00:01")
    old_pet = old.get_model("feeders", "Pet").objects.create(owner=user, name="Miso", beacon=beacon)
    old.get_model("feeders", "MealSchedule").objects.create(
        pet=old_pet, feeder=feeders[0], times=["07:00"], days_of_week=[1], grams=20
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # the models below are today's

    pet = Pet.objects.get(pk=old_pet.pk)
    assert not FeederExclusion.objects.exists()
    for feeder in Feeder.objects.filter(household__memberships__user_id=user.pk):
        assert pet_may_use_feeder(pet=pet, feeder=feeder)
        assert list(feeder_pets_allowed(feeder=feeder)) == [pet]
        _, decision = feeder_may_feed(feeder=feeder, beacon_mac="B0:00:00:00:00:01", grams=10)
        assert decision is not None
        assert (decision.allowed, decision.reason) == (True, None)
    assert MealSchedule.objects.filter(pet=pet).count() == 1
