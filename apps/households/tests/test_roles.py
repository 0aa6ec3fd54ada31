"""Roles over the REST API: a viewer reads and changes nothing, a member does everything but
manage the household, a stranger finds nothing (404), whatever the household of the row."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.feeders.models import FeedCommand, Feeder, Pet
from apps.feeders.tests.factories import FeederFactory, PetFactory, ScheduleFactory
from apps.households.roles import Role
from apps.households.tests.factories import household_of, member_add

JSON = "application/json"


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def kitchen(alice: User) -> Feeder:
    return FeederFactory(owner=alice, name="Kitchen")


@pytest.fixture
def tom(alice: User) -> Pet:
    return PetFactory(owner=alice, name="Tom")


def test_a_viewer_reads_the_households_rows_but_cannot_feed_403(
    alice: User, bob: User, kitchen: Feeder, tom: Pet
) -> None:
    member_add(household_of(alice), bob, Role.VIEWER)
    as_bob = logged_in(bob)
    assert [f["name"] for f in as_bob.get("/api/feeders").json()["items"]] == ["Kitchen"]
    assert as_bob.get(f"/api/pets/{tom.pk}").json()["household_id"] == kitchen.household_id
    refused = as_bob.post(f"/api/feeders/{kitchen.pk}/feed", {"grams": 5}, content_type=JSON)
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:catfeeder:problem:role-forbidden"
    assert not FeedCommand.objects.exists()


def fill(value: object, ids: dict[str, int]) -> object:
    """A body's "{pet}" is that row's id."""
    return int(value.format(**ids)) if isinstance(value, str) and value.startswith("{") else value


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("patch", "/api/feeders/{feeder}", {"name": "Mine now"}),
        ("delete", "/api/feeders/{feeder}", None),
        ("put", "/api/feeders/{feeder}/pets", {"pet_ids": []}),
        ("post", "/api/feeders/{feeder}/pairing-code", None),
        ("post", "/api/feeders/{feeder}/token", None),
        ("patch", "/api/pets/{pet}", {"name": "Renamed"}),
        ("delete", "/api/pets/{pet}", None),
        ("post", "/api/schedules", {"pet_id": "{pet}", "feeder_id": "{feeder}", "times": ["07:00"], "grams": 5}),
        ("post", "/api/feeders?household={household}", {"name": "Sneaky", "mac": "F0:00:00:00:99:01"}),
    ],
)
def test_a_viewer_changes_nothing(
    method: str, path: str, body: dict[str, object] | None, alice: User, bob: User, kitchen: Feeder, tom: Pet
) -> None:
    member_add(household_of(alice), bob, Role.VIEWER)
    ids = {"feeder": kitchen.pk, "pet": tom.pk, "household": kitchen.household_id}
    data = {
        k: (int(v.format(**ids)) if isinstance(v, str) and v.startswith("{") else v) for k, v in (body or {}).items()
    }
    response = getattr(logged_in(bob), method)(path.format(**ids), data, content_type=JSON)
    assert response.status_code == 403, response.content
    kitchen.refresh_from_db()
    tom.refresh_from_db()
    assert (kitchen.name, tom.name, Feeder.objects.count(), Pet.objects.count()) == ("Kitchen", "Tom", 1, 1)


def test_a_member_feeds_and_adds_rows_to_the_household_they_name(
    alice: User, bob: User, kitchen: Feeder, tom: Pet
) -> None:
    bobs, alices = household_of(bob), household_of(alice)  # bob's own first: his default
    member_add(alices, bob, Role.MEMBER)
    as_bob = logged_in(bob)
    fed = as_bob.post(f"/api/feeders/{kitchen.pk}/feed", {"grams": 5, "pet_id": tom.pk}, content_type=JSON)
    assert fed.status_code == 202, fed.content
    made = as_bob.post(f"/api/pets?household={alices.pk}", {"name": "Kit"}, content_type=JSON)
    assert (made.status_code, made.json()["household_id"]) == (201, alices.pk)
    own = as_bob.post("/api/pets", {"name": "Rex"}, content_type=JSON)  # no household named: bob's own
    assert own.json()["household_id"] == bobs.pk
    assert {p["name"] for p in as_bob.get(f"/api/pets?household={alices.pk}").json()["items"]} == {"Tom", "Kit"}
    assert {p["name"] for p in as_bob.get("/api/pets").json()["items"]} == {"Tom", "Kit", "Rex"}


def test_the_schedules_list_narrows_to_the_household_named(
    alice: User, bob: User, charlie: User, kitchen: Feeder, tom: Pet
) -> None:
    household_of(bob)  # his own first: his default, where his rows below go
    alices = household_of(alice)
    member_add(alices, bob, Role.MEMBER)
    theirs = ScheduleFactory(pet=tom, feeder=kitchen)
    his = ScheduleFactory(pet=PetFactory(owner=bob), feeder=FeederFactory(owner=bob))
    as_bob = logged_in(bob)
    assert [s["id"] for s in as_bob.get(f"/api/schedules?household={alices.pk}").json()["items"]] == [theirs.pk]
    assert {s["id"] for s in as_bob.get("/api/schedules").json()["items"]} == {theirs.pk, his.pk}
    assert logged_in(charlie).get(f"/api/schedules?household={alices.pk}").json()["items"] == []


def test_a_member_may_not_manage_the_household(alice: User, bob: User, charlie: User) -> None:
    household = household_of(alice)
    member_add(household, bob, Role.MEMBER)
    member_add(household, charlie, Role.VIEWER)
    as_bob = logged_in(bob)
    url = f"/api/households/{household.pk}/members/{charlie.pk}"
    assert as_bob.patch(url, {"role": "member"}, content_type=JSON).status_code == 403
    assert as_bob.delete(url).status_code == 403


def test_a_stranger_and_a_removed_member_find_nothing_404(
    alice: User, bob: User, charlie: User, kitchen: Feeder
) -> None:
    household = household_of(alice)
    member_add(household, bob, Role.MEMBER)
    assert logged_in(alice).delete(f"/api/households/{household.pk}/members/{bob.pk}").status_code == 204
    for user in (bob, charlie):
        client = logged_in(user)
        assert client.get(f"/api/feeders/{kitchen.pk}").status_code == 404
        assert client.post(f"/api/feeders/{kitchen.pk}/feed", {"grams": 5}, content_type=JSON).status_code == 404
        assert client.get("/api/feeders").json()["items"] == []
        refused = client.post(f"/api/feeders?household={household.pk}", {"name": "X", "mac": "F0:00:00:00:99:02"},
                              content_type=JSON)  # fmt: skip
        assert refused.status_code == 404
    assert Feeder.objects.count() == 1
