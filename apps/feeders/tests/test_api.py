from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.feeders.models import FeedCommand, Feeder, FeedEvent, FeedSource, Pet, Visit
from apps.feeders.services.pets import pet_feed
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory, ScheduleFactory
from apps.households.tests.factories import household_of

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def test_an_owner_registers_a_feeder_and_its_mac_is_normalised(as_alice: Client, alice: User) -> None:
    response = as_alice.post(
        "/api/feeders", {"name": "Kitchen", "mac": "aa-bb-cc-dd-ee-0f", "time_zone": "Europe/Paris"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mac"] == "AA:BB:CC:DD:EE:0F"
    assert body["is_online"] is False
    assert Feeder.objects.get(pk=body["id"]).household == household_of(alice)


def test_a_mac_is_unique_per_owner_not_across_owners(as_alice: Client, alice: User, bob: User) -> None:
    FeederFactory(owner=bob, mac="AA:BB:CC:DD:EE:FF")
    assert (
        as_alice.post(
            "/api/feeders", {"name": "A", "mac": "AA:BB:CC:DD:EE:FF"}, content_type="application/json"
        ).status_code
        == 201
    )
    again = as_alice.post("/api/feeders", {"name": "B", "mac": "aabbccddeeff"}, content_type="application/json")
    assert again.status_code == 409
    assert again["Content-Type"] == PROBLEM
    assert "AA:BB:CC:DD:EE:FF" in again.json()["detail"]


def test_bad_fields_are_422_with_each_field_named(as_alice: Client) -> None:
    response = as_alice.post(
        "/api/feeders", {"name": "", "mac": "not-a-mac", "latitude": 123, "time_zone": "Nowhere/Land"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 422
    fields = {error["loc"][-1] for error in response.json()["errors"]}
    assert fields == {"name", "mac", "latitude", "time_zone"}
    assert not Feeder.objects.exists()


def test_an_explicit_null_for_a_required_column_is_422_not_a_crash(as_alice: Client, alice: User) -> None:
    feeder = FeederFactory(owner=alice)
    response = as_alice.patch(f"/api/feeders/{feeder.pk}", {"name": None}, content_type="application/json")
    assert response.status_code == 422


def test_a_partial_update_changes_only_what_it_names(as_alice: Client, alice: User) -> None:
    feeder = FeederFactory(owner=alice, name="Old", city="Lyon")
    response = as_alice.patch(f"/api/feeders/{feeder.pk}", {"name": "New"}, content_type="application/json")
    assert response.status_code == 200
    feeder.refresh_from_db()
    assert (feeder.name, feeder.city) == ("New", "Lyon")


def test_lists_are_paginated_and_filtered(as_alice: Client, alice: User) -> None:
    for n in range(5):
        FeederFactory(owner=alice, name=f"Feeder {n}", is_online=n % 2 == 0)
    page = as_alice.get("/api/feeders?limit=2&offset=0").json()
    assert page["count"] == 5
    assert len(page["items"]) == 2
    assert as_alice.get("/api/feeders?online=true").json()["count"] == 3
    assert as_alice.get("/api/feeders?search=Feeder 4").json()["count"] == 1


def test_a_pet_wears_an_owned_collar_tag_only(as_alice: Client, alice: User, bob: User) -> None:
    mine, bobs = BeaconFactory(owner=alice), BeaconFactory(owner=bob)
    ok = as_alice.post("/api/pets", {"name": "Tom", "beacon_id": mine.pk}, content_type="application/json")
    assert ok.status_code == 201
    stolen = as_alice.post("/api/pets", {"name": "Jerry", "beacon_id": bobs.pk}, content_type="application/json")
    assert stolen.status_code == 422
    assert stolen.json()["errors"][0]["loc"] == ["body", "beacon_id"]
    assert not Pet.objects.filter(name="Jerry").exists()


def test_one_collar_tag_one_pet(as_alice: Client, alice: User) -> None:
    beacon = BeaconFactory(owner=alice)
    PetFactory(owner=alice, beacon=beacon)
    response = as_alice.post("/api/pets", {"name": "Second", "beacon_id": beacon.pk}, content_type="application/json")
    assert response.status_code == 409


def test_the_allowance_endpoint_says_what_is_eaten_and_left(as_alice: Client, alice: User) -> None:
    pet = PetFactory(owner=alice, allowance_grams=80)
    pet_feed(pet=pet, feeder=FeederFactory(owner=alice), grams=30, source=FeedSource.DEVICE)
    body = as_alice.get(f"/api/pets/{pet.pk}/allowance").json()
    assert (body["eaten_grams"], body["remaining_grams"], body["allowance_grams"]) == (30, 50, 80)


def test_a_schedule_gets_its_next_run_in_its_time_zone(as_alice: Client, alice: User) -> None:
    pet = PetFactory(owner=alice, time_zone="Europe/Paris")
    feeder = FeederFactory(owner=alice)
    response = as_alice.post(
        "/api/schedules",
        {"pet_id": pet.pk, "feeder_id": feeder.pk, "times": ["18:00", "07:30", "07:30"], "grams": 20},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["times"] == ["07:30", "18:00"]
    assert body["time_zone"] == "Europe/Paris"
    assert body["next_run_at"] is not None


def test_disabling_a_schedule_clears_its_next_run(as_alice: Client, alice: User) -> None:
    schedule = ScheduleFactory(pet=PetFactory(owner=alice))
    response = as_alice.patch(f"/api/schedules/{schedule.pk}", {"enabled": False}, content_type="application/json")
    assert response.json()["next_run_at"] is None


def test_bad_schedule_times_are_422(as_alice: Client, alice: User) -> None:
    pet, feeder = PetFactory(owner=alice), FeederFactory(owner=alice)
    payload = {"pet_id": pet.pk, "feeder_id": feeder.pk, "times": ["25:00"], "days_of_week": [8], "grams": 20}
    response = as_alice.post("/api/schedules", payload, content_type="application/json")
    assert response.status_code == 422
    assert {e["loc"][-2] if isinstance(e["loc"][-1], int) else e["loc"][-1] for e in response.json()["errors"]} == {
        "times", "days_of_week",
    }  # fmt: skip


def test_feed_now_creates_a_pending_command(as_alice: Client, alice: User) -> None:
    feeder, pet = FeederFactory(owner=alice), PetFactory(owner=alice)
    response = as_alice.post(
        f"/api/feeders/{feeder.pk}/feed", {"grams": 15, "pet_id": pet.pk}, content_type="application/json"
    )
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    command = FeedCommand.objects.get()
    assert (command.grams, command.source, command.pet) == (15, "owner", pet)
    assert as_alice.get(f"/api/commands/{command.pk}").json()["status"] == "pending"


def test_feed_now_over_the_allowance_is_refused_with_the_reason(as_alice: Client, alice: User) -> None:
    feeder, pet = FeederFactory(owner=alice), PetFactory(owner=alice, allowance_grams=20)
    response = as_alice.post(
        f"/api/feeders/{feeder.pk}/feed", {"grams": 25, "pet_id": pet.pk}, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["type"] == "urn:catfeeder:problem:allowance-exceeded"
    assert "20 g left" in response.json()["detail"]
    assert not FeedCommand.objects.exists()


def test_a_second_feed_now_over_what_is_left_is_refused_while_the_first_is_unanswered(
    as_alice: Client, alice: User
) -> None:
    feeder, pet = FeederFactory(owner=alice), PetFactory(owner=alice, allowance_grams=100)
    order = {"grams": 60, "pet_id": pet.pk}
    assert as_alice.post(f"/api/feeders/{feeder.pk}/feed", order, content_type="application/json").status_code == 202
    rest = as_alice.post(f"/api/feeders/{feeder.pk}/feed", order, content_type="application/json")
    message = as_alice.post(
        "/api/messages/FeederFeed", {"feeder_id": feeder.pk, **order}, content_type="application/json"
    )
    for refused in (rest, message):  # the REST route and the typed message: the same refusal
        assert refused.status_code == 409, refused.content
        assert refused.json()["type"] == "urn:catfeeder:problem:allowance-exceeded"
        assert "60 g ordered and not fed yet, 40 g left" in refused.json()["detail"]
    assert FeedCommand.objects.count() == 1


def test_history_filters_by_time_range_and_needs_an_offset(as_alice: Client, alice: User) -> None:
    feeder, pet = FeederFactory(owner=alice), PetFactory(owner=alice, allowance_grams=1000)
    for day in (1, 2, 3):
        at = dt.datetime(2026, 11, day, 12, tzinfo=dt.UTC)
        Visit.objects.create(feeder=feeder, pet=pet, beacon_mac="B0:00:00:00:00:01", seen_at=at)
        pet_feed(pet=pet, feeder=feeder, grams=10, source=FeedSource.DEVICE, at=at)
    since = "?since=2026-11-02T00:00:00Z&until=2026-11-03T00:00:00Z"
    assert as_alice.get(f"/api/pets/{pet.pk}/visits{since}").json()["count"] == 1
    assert as_alice.get(f"/api/feeders/{feeder.pk}/feedings{since}").json()["count"] == 1
    assert as_alice.get(f"/api/pets/{pet.pk}/feedings").json()["count"] == FeedEvent.objects.count() == 3
    naive = as_alice.get(f"/api/pets/{pet.pk}/visits?since=2026-11-02T00:00:00")
    assert naive.status_code == 422


def test_deleting_a_pet_removes_it(as_alice: Client, alice: User) -> None:
    pet = PetFactory(owner=alice)
    assert as_alice.delete(f"/api/pets/{pet.pk}").status_code == 204
    assert as_alice.get(f"/api/pets/{pet.pk}").status_code == 404


@pytest.mark.parametrize("query", ["/api/commands?feeder_id=", "/api/schedules?pet_id=", "/api/schedules?feeder_id="])
def test_an_id_filter_over_64_bits_is_422_not_a_crash(as_alice: Client, query: str) -> None:
    response = as_alice.get(f"{query}{2**64}")
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
