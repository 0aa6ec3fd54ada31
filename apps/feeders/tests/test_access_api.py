"""The access list routes, GET and PUT /api/feeders/{id}/pets, and the refusals it causes elsewhere."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.feeders.models import FeedCommand, FeederExclusion, MealSchedule
from apps.feeders.tests.factories import FeederFactory, PetFactory, ScheduleFactory

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def put(client: Client, feeder_id: int, body: Any) -> Any:
    return client.put(f"/api/feeders/{feeder_id}/pets", body, content_type="application/json")


def test_a_feeder_lists_every_pet_until_its_list_is_set(as_alice: Client, alice: User) -> None:
    kitchen, tom, kit = FeederFactory(owner=alice), PetFactory(owner=alice, name="A"), PetFactory(owner=alice, name="B")
    assert as_alice.get(f"/api/feeders/{kitchen.pk}/pets").json() == {"pet_ids": [tom.pk, kit.pk]}
    response = put(as_alice, kitchen.pk, {"pet_ids": [tom.pk]})
    assert response.status_code == 200, response.content
    assert response.json() == {"pet_ids": [tom.pk]}
    assert as_alice.get(f"/api/feeders/{kitchen.pk}/pets").json() == {"pet_ids": [tom.pk]}
    assert put(as_alice, kitchen.pk, {"pet_ids": []}).json() == {"pet_ids": []}


@pytest.mark.parametrize("actor", ["alice", "charlie"])
def test_another_owners_feeder_is_404_both_ways(actor: str, alice: User, bob: User, charlie: User) -> None:
    client = Client()
    client.force_login({"alice": alice, "charlie": charlie}[actor])
    bobs_feeder = FeederFactory(owner=bob)
    PetFactory(owner=bob, name="Bobcat")
    read = client.get(f"/api/feeders/{bobs_feeder.pk}/pets")
    assert (read.status_code, read["Content-Type"]) == (404, PROBLEM)
    assert "Bobcat" not in read.content.decode()
    assert put(client, bobs_feeder.pk, {"pet_ids": []}).status_code == 404
    assert not FeederExclusion.objects.exists()


def test_a_pet_of_another_owner_or_none_in_the_list_is_422_and_changes_nothing(
    as_alice: Client, alice: User, bob: User
) -> None:
    kitchen, tom, bobs_cat = FeederFactory(owner=alice), PetFactory(owner=alice), PetFactory(owner=bob)
    for pet_ids in ([bobs_cat.pk], [tom.pk, bobs_cat.pk], [tom.pk, 999_999]):
        response = put(as_alice, kitchen.pk, {"pet_ids": pet_ids})
        assert (response.status_code, response["Content-Type"]) == (422, PROBLEM), pet_ids
        assert response.json()["errors"][0]["loc"] == ["body", "pet_ids"]
    assert not FeederExclusion.objects.exists()


@pytest.mark.parametrize(
    "body", [{}, {"pet_ids": None}, {"pet_ids": "1"}, {"pet_ids": [0]}, {"pet_ids": ["x"]}, {"pet_ids": [2**63]}]
)
def test_a_malformed_list_is_422_with_the_field_named(as_alice: Client, alice: User, body: Any) -> None:
    kitchen = FeederFactory(owner=alice)
    PetFactory(owner=alice)
    response = put(as_alice, kitchen.pk, body)
    assert (response.status_code, response["Content-Type"]) == (422, PROBLEM)
    assert "pet_ids" in response.json()["errors"][0]["loc"]
    assert not FeederExclusion.objects.exists()


def test_a_repeated_id_counts_once(as_alice: Client, alice: User) -> None:
    kitchen, tom = FeederFactory(owner=alice), PetFactory(owner=alice)
    PetFactory(owner=alice)
    assert put(as_alice, kitchen.pk, {"pet_ids": [tom.pk, tom.pk]}).json() == {"pet_ids": [tom.pk]}


def test_taking_off_a_pet_with_schedules_there_is_409_listing_them(as_alice: Client, alice: User) -> None:
    kitchen, kit = FeederFactory(owner=alice, name="Kitchen"), PetFactory(owner=alice, name="Kit")
    schedule = ScheduleFactory(pet=kit, feeder=kitchen, times=["07:30", "18:00"])
    response = put(as_alice, kitchen.pk, {"pet_ids": []})
    assert (response.status_code, response["Content-Type"]) == (409, PROBLEM)
    body = response.json()
    assert body["type"] == "urn:catfeeder:problem:schedules-in-the-way"
    assert f"schedule {schedule.pk} (Kit, 07:30, 18:00)" in body["detail"]
    assert body["errors"] == [
        {"loc": ["body", "pet_ids"], "msg": f"schedule {schedule.pk} feeds Kit here", "type": "schedule_in_the_way"}
    ]
    assert not FeederExclusion.objects.exists()


def test_a_schedule_and_a_feed_now_for_a_pet_kept_off_are_422_on_pet_id(as_alice: Client, alice: User) -> None:
    kitchen, kit = FeederFactory(owner=alice, name="Kitchen"), PetFactory(owner=alice, name="Kit")
    put(as_alice, kitchen.pk, {"pet_ids": []})
    meal = {"pet_id": kit.pk, "feeder_id": kitchen.pk, "times": ["07:30"], "grams": 20}
    refusals = [
        as_alice.post("/api/schedules", meal, content_type="application/json"),
        as_alice.post(f"/api/feeders/{kitchen.pk}/feed", {"grams": 5, "pet_id": kit.pk}, "application/json"),
        as_alice.post(
            "/api/messages/FeederFeed", {"feeder_id": kitchen.pk, "grams": 5, "pet_id": kit.pk},
            content_type="application/json",
        ),
    ]  # fmt: skip
    for refused in refusals:
        assert (refused.status_code, refused["Content-Type"]) == (422, PROBLEM), refused.content
        assert refused.json()["type"] == "urn:catfeeder:problem:not-allowed-at-feeder"
        assert refused.json()["errors"] == [
            {"loc": ["body", "pet_id"], "msg": "Kit may not eat at Kitchen", "type": "not_allowed_at_feeder"}
        ]
    assert not MealSchedule.objects.exists()
    assert not FeedCommand.objects.exists()


def test_the_asyncapi_document_lists_every_reason_a_feed_decision_gives() -> None:
    payload = Client().get("/api/asyncapi.json").json()["components"]["messages"]["FeedDecision"]["payload"]
    reasons = next(option["enum"] for option in payload["properties"]["reason"]["anyOf"] if "enum" in option)
    assert reasons == ["unknown_tag", "not_allowed_at_feeder", "allowance_exceeded"]
