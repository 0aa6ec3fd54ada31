"""A viewer's pages: every row of the household to read, no form to change one, and a 403 for a forged
post; and who ordered each feeding and command, on the pages that list them."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.feeders.models import FeedCommand, Feeder, FeedSource, MealSchedule, Pet
from apps.feeders.services.commands import feed_command_complete, feed_command_create
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory, ScheduleFactory
from apps.households.roles import Role
from apps.households.tests.factories import household_of, member_add

pytestmark = pytest.mark.django_db

READ_PAGES = ["/", "/pets/", "/feeders/", "/collar-tags/", "/schedules/", "/history/"]
EDIT_MARKS = ["Feed now", "Add a pet", "Add a feeder", "Add the tag", "Add the schedule", "Save", "Delete"]


@pytest.fixture
def viewer(alice: User, charlie: User) -> Client:
    """Charlie, a viewer of alice's household (his only one), logged in."""
    household = household_of(alice)
    feeder = FeederFactory(household=household, name="Kitchen")
    pet = PetFactory(household=household, name="Miso", beacon=BeaconFactory(household=household, name="Red"))
    ScheduleFactory(pet=pet, feeder=feeder, times=["07:00"])
    member_add(household, charlie, Role.VIEWER)
    client = Client()
    client.force_login(charlie)
    return client


def text(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


@pytest.mark.parametrize("path", READ_PAGES)
def test_a_viewer_reads_every_page_without_a_form_to_change_anything(path: str, viewer: Client) -> None:
    page = text(viewer, path)
    assert "Kitchen" in page or "Miso" in page or "Red" in page
    for mark in EDIT_MARKS:
        assert f">{mark}" not in page, (path, mark)


def test_a_viewer_reads_a_row_page_without_its_forms(viewer: Client) -> None:
    pet, feeder = Pet.objects.get(name="Miso"), Feeder.objects.get(name="Kitchen")
    for path in (f"/pets/{pet.pk}/", f"/feeders/{feeder.pk}/", f"/collar-tags/{pet.beacon_id}/"):
        page = text(viewer, path)
        for mark in (*EDIT_MARKS, "Show a pairing code", "Upload", "Save the list"):
            assert f">{mark}" not in page, (path, mark)


def test_a_viewers_forged_posts_are_403_and_change_nothing(viewer: Client) -> None:
    pet, schedule = Pet.objects.get(name="Miso"), MealSchedule.objects.get()
    feeder = schedule.feeder
    forged = [
        ("/feed/", {"feeder": feeder.pk, "pet": pet.pk, "grams": 10}),
        ("/pets/new/", {"name": "Kit", "allowance_grams": 50, "period_minutes": 1440, "period_anchor": "00:00",
                        "time_zone": "UTC"}),
        ("/feeders/new/", {"name": "Hall", "mac": "AA:BB:CC:DD:EE:09", "time_zone": "UTC"}),
        ("/collar-tags/", {"name": "Blue", "mac": "AA:BB:CC:DD:EE:0A"}),
        ("/schedules/", {"new-pet": pet.pk, "new-feeder": feeder.pk, "new-times": "08:00", "new-days_of_week": [1],
                         "new-grams": 10, "new-enabled": "on"}),
        (f"/schedules/{schedule.pk}/", {f"s{schedule.pk}-times": "09:00", f"s{schedule.pk}-days_of_week": [1],
                                        f"s{schedule.pk}-grams": 5}),
        (f"/schedules/{schedule.pk}/delete/", {}),
        (f"/pets/{pet.pk}/delete/", {}),
        (f"/feeders/{feeder.pk}/pair/", {}),
    ]  # fmt: skip
    for path, data in forged:
        assert viewer.post(path, data).status_code == 403, path
    assert viewer.get("/pets/new/").status_code == 403  # a form they could not send
    assert not FeedCommand.objects.exists()
    assert list(Pet.objects.values_list("name", flat=True)) == ["Miso"]
    schedule.refresh_from_db()
    assert (schedule.times, schedule.grams) == (["07:00"], 20)


def test_history_and_the_feeder_page_say_who_ordered_a_feeding(alice: User, viewer: Client) -> None:
    pet, feeder = Pet.objects.get(name="Miso"), MealSchedule.objects.get().feeder
    command = feed_command_create(feeder=feeder, pet=pet, grams=10, source=FeedSource.OWNER, ordered_by=alice)
    feed_command_complete(feeder=feeder, command_id=command.pk, done=True, grams_dispensed=10)
    assert "by Alice" in text(viewer, "/history/")
    assert "by Alice" in text(viewer, "/")
    assert "<td>Alice</td>" in text(viewer, f"/feeders/{feeder.pk}/")
