"""The move from owners to households, from the schema before it with data: every user gets a
household of their own, their rows move into it, and nothing is lost. Back again, too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.models import Beacon, FeedCommand, Feeder, FeedEvent, MealSchedule, Pet, Visit
from apps.feeders.selectors.devices import beacon_list, feeder_list
from apps.feeders.selectors.pets import feed_event_list, pet_list, visit_list
from apps.households.models import Household, Membership
from apps.households.roles import Role

BEFORE = [("feeders", "0006_feeder_exclusions")]


@pytest.fixture
def before_households(transactional_db: None) -> Iterator[Any]:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        # The households' own tables are there already (sign-up may have made some).
        yield executor.loader.project_state([*BEFORE, ("households", "0001_initial")]).apps
    finally:  # whatever happened, the next test gets the whole schema back
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def migrate_to_the_end() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def old_rows(old: Any, email: str, n: int) -> Any:
    """An owner with a feeder, a tag, a pet wearing it, a schedule and some history."""
    user = old.get_model("accounts", "User").objects.create(email=email, name="")
    feeder = old.get_model("feeders", "Feeder").objects.create(
        owner=user, name=f"Kitchen {n}", mac=f"F0:00:00:00:00:0{n}"
    )
    beacon = old.get_model("feeders", "Beacon").objects.create(owner=user, name="Red", mac=f"B0:00:00:00:00:0{n}")
    pet = old.get_model("feeders", "Pet").objects.create(owner=user, name=f"Miso {n}", beacon=beacon)
    old.get_model("feeders", "MealSchedule").objects.create(
        pet=pet, feeder=feeder, times=["07:00"], days_of_week=[1], grams=20
    )
    now = timezone.now()
    old.get_model("feeders", "Visit").objects.create(feeder=feeder, pet=pet, beacon_mac=beacon.mac, seen_at=now)
    old.get_model("feeders", "FeedEvent").objects.create(feeder=feeder, pet=pet, grams=10, source="owner", fed_at=now)
    old.get_model("feeders", "FeedCommand").objects.create(feeder=feeder, pet=pet, grams=10, source="owner")
    return user


def test_every_user_gets_a_household_with_their_rows_and_nothing_is_lost(before_households: Any) -> None:
    old = before_households
    ann, ben = old_rows(old, "ann@example.com", 1), old_rows(old, "ben@example.com", 2)
    nobody = old.get_model("accounts", "User").objects.create(email="nobody@example.com", name="Nobody")
    # A user who signed up on the new code before the move: theirs is kept, not doubled.
    early = old.get_model("households", "Household").objects.create(name="Early's own")
    old.get_model("households", "Membership").objects.create(household=early, user=ben, role="owner")
    counts = {model: model.objects.count() for model in (Feeder, Beacon, Pet, MealSchedule, Visit, FeedEvent)}

    migrate_to_the_end()

    assert {model: model.objects.count() for model in counts} == counts
    assert FeedCommand.objects.count() == 2
    assert Household.objects.count() == 3  # ann's, nobody's, and ben's early one
    assert sorted(Membership.objects.values_list("user__email", "role")) == [
        ("ann@example.com", Role.OWNER), ("ben@example.com", Role.OWNER), ("nobody@example.com", Role.OWNER),
    ]  # fmt: skip
    assert Household.objects.get(memberships__user_id=ann.pk).name == "ann's household"
    assert Household.objects.get(memberships__user_id=nobody.pk).name == "Nobody's household"
    for user, n, household in ((ann, 1, None), (ben, 2, early.pk)):
        member = User.objects.get(pk=user.pk)
        household_id = household or Household.objects.get(memberships__user=member).pk
        assert [f.name for f in feeder_list(user=member)] == [f"Kitchen {n}"]
        assert {f.household_id for f in feeder_list(user=member)} == {household_id}
        assert [p.name for p in pet_list(user=member)] == [f"Miso {n}"]
        assert beacon_list(user=member).count() == 1
        assert visit_list(user=member).count() == feed_event_list(user=member).count() == 1


def test_migrating_back_gives_each_row_its_owner_again(before_households: Any) -> None:
    ann = old_rows(before_households, "ann@example.com", 1)
    migrate_to_the_end()

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    for name in ("Feeder", "Beacon", "Pet"):
        assert list(old.get_model("feeders", name).objects.values_list("owner_id", flat=True)) == [ann.pk]
