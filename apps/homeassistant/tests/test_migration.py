"""Links move from owners to households, from the schema before with data: each enabled owner link
turns on the households its owner is an owner or a member of, and back again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.homeassistant.models import HomeAssistantLink

BEFORE = ("homeassistant", "0001_initial")


def everything_else(executor: MigrationExecutor) -> list[tuple[str, str]]:
    return [node for node in executor.loader.graph.leaf_nodes() if node[0] != "homeassistant"]


@pytest.fixture
def per_owner(transactional_db: None) -> Iterator[Any]:
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    try:
        yield executor.loader.project_state([*everything_else(executor), BEFORE]).apps
    finally:  # whatever happened, the next test gets the whole schema back
        migrate_to_the_end()


def migrate_to_the_end() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def cast(old: Any) -> dict[str, Any]:
    """Cat and Ann have Home Assistant on (Cat first), Ben has it off; their households:

    one: Ann owner;  two: Cat owner, Ann member;  three: Ann viewer;  four: Ben owner.
    """
    users, households = old.get_model("accounts", "User"), old.get_model("households", "Household")
    members, links = old.get_model("households", "Membership"), old.get_model("homeassistant", "HomeAssistantLink")
    ann, ben, cat = (users.objects.create(email=f"{n}@example.com", name=n) for n in ("ann", "ben", "cat"))
    one, two, three, four = (households.objects.create(name=n) for n in ("one", "two", "three", "four"))
    for household, user, role in ((one, ann, "owner"), (two, cat, "owner"), (two, ann, "member"),
                                  (three, ann, "viewer"), (three, ben, "owner"), (four, ben, "owner")):  # fmt: skip
        members.objects.create(household=household, user=user, role=role)
    first = links.objects.create(owner=cat, enabled=True)
    links.objects.create(owner=ann, enabled=True)
    links.objects.create(owner=ben, enabled=False)
    return {"ann": ann, "ben": ben, "cat": cat, "one": one, "two": two, "three": three, "four": four, "first": first}


def test_each_enabled_owner_link_turns_on_their_households_as_a_member_enabled_it(per_owner: Any) -> None:
    rows = cast(per_owner)
    migrate_to_the_end()

    links = {link.household_id: link for link in HomeAssistantLink.objects.all()}
    assert set(links) == {rows["one"].pk, rows["two"].pk}  # not where Ann is a viewer, nor Ben's (off)
    assert all(link.enabled for link in links.values())
    assert links[rows["one"].pk].enabled_by_id == rows["ann"].pk
    assert links[rows["two"].pk].enabled_by_id == rows["cat"].pk  # the first owner to turn it on
    assert links[rows["two"].pk].enabled_at == rows["first"].updated_at


def test_migrating_back_gives_each_enabler_an_owner_link(per_owner: Any) -> None:
    rows = cast(per_owner)
    migrate_to_the_end()

    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = executor.loader.project_state([*everything_else(executor), BEFORE]).apps
    links = old.get_model("homeassistant", "HomeAssistantLink").objects
    assert sorted(links.values_list("owner_id", "enabled")) == sorted([(rows["ann"].pk, True), (rows["cat"].pk, True)])
