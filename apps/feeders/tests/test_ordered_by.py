"""Who ordered a feeding: each command and each feeding keeps the person who pressed "feed now" (the
REST API, the FeederFeed message, Home Assistant as the member who turned its link on); a meal and a device's own
feeding are nobody's. The REST output and the live FedRecorded name them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.feeders import events
from apps.feeders.models import FeedCommand, FeedEvent, FeedSource
from apps.feeders.services import meals as meal_services
from apps.feeders.services.commands import feed_command_complete, feed_command_create
from apps.feeders.services.pets import feeder_fed
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory, ScheduleFactory
from apps.homeassistant.services import home_assistant_feed, home_assistant_set
from apps.households.roles import Role
from apps.households.tests.factories import household_of, member_add

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def kitchen(alice: User, bob: User) -> dict[str, Any]:
    """Alice's household, bob a member of it: a feeder and a pet wearing a tag."""
    household = household_of(alice)
    member_add(household, bob, Role.MEMBER)
    beacon = BeaconFactory(household=household)
    return {"feeder": FeederFactory(household=household), "pet": PetFactory(household=household, beacon=beacon,
            allowance_grams=500), "beacon": beacon}  # fmt: skip


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_feed_now_over_rest_keeps_who_ordered_it_on_the_command_and_its_feeding(
    bob: User, kitchen: dict[str, Any]
) -> None:
    feeder, pet = kitchen["feeder"], kitchen["pet"]
    client = client_for(bob)
    ordered = client.post(f"/api/feeders/{feeder.pk}/feed", {"grams": 10, "pet_id": pet.pk}, content_type=JSON)
    assert ordered.status_code == 202
    assert ordered.json()["ordered_by"] == {"id": bob.pk, "name": "Bob"}
    feed_command_complete(feeder=feeder, command_id=ordered.json()["id"], done=True, grams_dispensed=10)

    event = FeedEvent.objects.get()
    assert event.ordered_by == bob
    [fed] = client.get(f"/api/pets/{pet.pk}/feedings").json()["items"]
    assert fed["ordered_by"] == {"id": bob.pk, "name": "Bob"}
    [listed] = client.get("/api/commands").json()["items"]
    assert listed["ordered_by"] == {"id": bob.pk, "name": "Bob"}
    assert events.fed_message(event).ordered_by is not None
    assert events.fed_message(event).model_dump()["ordered_by"] == {"id": bob.pk, "name": "Bob"}


def test_the_feederfeed_message_keeps_who_sent_it(alice: User, kitchen: dict[str, Any]) -> None:
    feeder = kitchen["feeder"]
    alice.name = ""  # no display name: the address stands for her
    alice.save()
    sent = client_for(alice).post("/api/messages/FeederFeed", {"feeder_id": feeder.pk, "grams": 5}, content_type=JSON)
    assert sent.status_code == 200, sent.content
    command = FeedCommand.objects.get()
    assert (command.ordered_by, command.source) == (alice, FeedSource.OWNER)
    assert client_for(alice).get(f"/api/commands/{command.pk}").json()["ordered_by"] == {
        "id": alice.pk,
        "name": "alice@example.com",
    }


def test_a_home_assistant_press_is_ordered_by_the_member_who_turned_the_link_on(
    bob: User, kitchen: dict[str, Any]
) -> None:
    link = home_assistant_set(user=bob, household_id=kitchen["feeder"].household_id, enabled=True)
    command = home_assistant_feed(link=link, feeder_id=kitchen["feeder"].pk, payload=b"12")
    command.refresh_from_db()
    assert (command.source, command.ordered_by) == (FeedSource.HOME_ASSISTANT, bob)


def test_a_meal_and_a_devices_own_feeding_are_nobodys(kitchen: dict[str, Any]) -> None:
    feeder, pet = kitchen["feeder"], kitchen["pet"]
    meal = ScheduleFactory(pet=pet, feeder=feeder, times=["07:30"])
    now = dt.datetime.now(dt.UTC)
    meal.next_run_at = now - dt.timedelta(minutes=1)  # due, well within its grace
    meal.save()
    meal_services.meal_slots_dispatch(now=now, enqueue=lambda ids: None)
    command = FeedCommand.objects.get(schedule=meal)
    assert command.ordered_by is None
    feed_command_complete(feeder=feeder, command_id=command.pk, done=True, grams_dispensed=20)
    fed = feeder_fed(feeder=feeder, beacon_mac=kitchen["beacon"].mac, grams=15, event_id="own-1")
    assert [e.ordered_by for e in FeedEvent.objects.order_by("id")] == [None, None]
    assert events.fed_message(fed).ordered_by is None


def test_a_deleted_account_leaves_its_orders_as_nobodys(bob: User, kitchen: dict[str, Any]) -> None:
    command = feed_command_create(feeder=kitchen["feeder"], grams=10, ordered_by=bob)
    feed_command_complete(feeder=kitchen["feeder"], command_id=command.pk, done=True, grams_dispensed=10)
    bob.delete()
    command.refresh_from_db()
    assert command.ordered_by is None
    assert FeedEvent.objects.get().ordered_by is None
