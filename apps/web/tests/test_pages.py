"""The owner pages through Django's test client: what they show, their forms, whose rows they open."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.models import Beacon, CommandStatus, FeedCommand, Feeder, FeedEvent, FeedSource, MealSchedule, Pet
from apps.feeders.services import pets as pet_services
from apps.feeders.services import presence as presence_services
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory, ScheduleFactory, owner_of
from apps.households.roles import Role
from apps.households.services import invitation_create
from apps.web import urls as web_urls

pytestmark = pytest.mark.django_db

PAGES = ["/", "/pets/", "/pets/new/", "/feeders/", "/feeders/new/", "/collar-tags/", "/schedules/", "/history/"]


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.content.decode()[:2000]
    return response.content.decode()


@dataclass
class Home:
    feeder: Feeder
    beacon: Beacon
    pet: Pet
    schedule: MealSchedule


@pytest.fixture
def home(alice: User) -> Home:
    """Alice's household: a feeder, a tag, a pet wearing it, a schedule."""
    feeder = FeederFactory(owner=alice, name="Kitchen")
    beacon = BeaconFactory(owner=alice, name="Red collar")
    pet = PetFactory(owner=alice, name="Miso", beacon=beacon, allowance_grams=60)
    schedule = ScheduleFactory(pet=pet, feeder=feeder, times=["07:00"], grams=20)
    return Home(feeder, beacon, pet, schedule)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_asks_a_stranger_to_log_in(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_new_owner_sees_empty_states_that_say_what_to_do(alice: User) -> None:
    client = client_for(alice)
    dashboard = page(client, "/")
    assert "No pets yet" in dashboard
    assert "No feeders yet" in dashboard
    assert "No pets yet" in page(client, "/pets/")
    assert "No feeders yet" in page(client, "/feeders/")
    assert "No collar tags yet" in page(client, "/collar-tags/")
    schedules = page(client, "/schedules/")
    assert "No meals scheduled yet" in schedules
    assert "A schedule needs a pet and a feeder" in schedules
    history = page(client, "/history/")
    assert "No visits yet." in history
    assert "No feedings yet." in history


def test_pages_use_local_assets_only(alice: User) -> None:
    html = page(client_for(alice), "/")
    assert '<script src="/static/js/theme.js"></script>' in html
    assert 'src="/static/js/live.js"' in html
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html


def test_the_dashboard_shows_feeders_pets_and_the_latest_events(alice: User, home: Home) -> None:
    feeder, pet = home.feeder, home.pet
    Feeder.objects.filter(pk=feeder.pk).update(is_online=True, food_level_percent=42, last_seen_at=timezone.now())
    presence_services.visit_record(feeder=feeder, beacon_mac=pet.beacon.mac)  # type: ignore[union-attr]
    pet_services.pet_feed(pet=pet, feeder=feeder, grams=15, source=FeedSource.DEVICE)
    html = page(client_for(alice), "/")
    assert f'data-feeder-online="{feeder.pk}">online<' in html
    assert "42 %" in html
    assert "<strong>Miso</strong> at Kitchen" in html
    assert "<strong>15 g</strong> for Miso from Kitchen" in html
    assert f'data-pet-gauge="{pet.pk}" data-eaten="15" data-allowance="60"' in html
    assert "45 g</text>" in html  # left of the allowance
    assert 'id="live-names"' in html


# -- ownership: charlie opens none of alice's pages ------------------------------------------------
def owned_paths(home: Home) -> list[str]:
    """Every page route that names a row, with alice's ids: taken from the URLconf, so a route
    added later is swept without touching this test."""
    alice = owner_of(home.feeder)
    household_id = home.feeder.household_id
    invitation, _ = invitation_create(user=alice, household_id=household_id, email="dora@example.com", role=Role.VIEWER)
    ids = {"pet_id": home.pet.pk, "feeder_id": home.feeder.pk, "beacon_id": home.beacon.pk,
           "schedule_id": home.schedule.pk, "household_id": household_id, "user_id": alice.pk,
           "invitation_id": invitation.pk}  # fmt: skip
    paths = []
    for pattern in web_urls.urlpatterns:
        names = list(pattern.pattern.converters)  # type: ignore[union-attr]
        if names:
            assert set(names) <= set(ids), f"{pattern.name}: give the sweep an id for {names}"
            paths.append(reverse(f"web:{pattern.name}", kwargs={name: ids[name] for name in names}))
    return paths


def test_charlie_gets_404_for_every_page_of_alice_and_changes_nothing(charlie: User, home: Home) -> None:
    client = client_for(charlie)
    paths = owned_paths(home)
    assert len(paths) >= 10
    for path in paths:
        # A page that takes only POST refuses GET before looking anything up (405): nothing leaks either way.
        assert client.get(path).status_code in (404, 405), path
        response = client.post(path, {"name": "Mine now", "mac": "AA:AA:AA:AA:AA:AA", "grams": 5})
        assert response.status_code == 404, path
    assert Pet.objects.get(pk=home.pet.pk).name == "Miso"
    assert Feeder.objects.filter(name="Kitchen").exists()
    assert Beacon.objects.filter(name="Red collar").exists()
    assert MealSchedule.objects.filter(pk=home.schedule.pk).exists()


def test_charlie_sees_none_of_alice_rows_in_lists_or_history(charlie: User, home: Home) -> None:
    feeder, pet = home.feeder, home.pet
    pet_services.pet_feed(pet=pet, feeder=feeder, grams=10, source=FeedSource.DEVICE)
    client = client_for(charlie)
    for path in PAGES:
        html = page(client, path)
        assert "Miso" not in html, path
        assert "Kitchen" not in html, path
    # Alice's ids as filters are invalid choices, not a way in.
    html = page(client, f"/history/?pet={pet.pk}&feeder={feeder.pk}")
    assert "Select a valid choice" in html
    assert "10 g" not in html


def test_charlie_cannot_feed_from_alice_feeder_nor_schedule_alice_pet(charlie: User, home: Home) -> None:
    feeder, pet = home.feeder, home.pet
    client = client_for(charlie)
    response = client.post("/feed/", {"feeder": feeder.pk, "grams": 10})
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    data = {"new-pet": pet.pk, "new-feeder": feeder.pk, "new-times": "08:00", "new-days_of_week": [1], "new-grams": 5}
    assert client.post("/schedules/", data).status_code == 422
    assert not FeedCommand.objects.exists()
    assert MealSchedule.objects.count() == 1


# -- forms: errors next to their fields ------------------------------------------------------------
def field_error(html: str, field: str, text: str) -> bool:
    """The error is inside the field's own block, before the next field starts."""
    start = html.find(f'data-field="{field}"')
    end = html.find('data-field="', start + 1)
    return start >= 0 and text in html[start : end if end > 0 else None]


def test_a_feeder_with_a_bad_mac_is_refused_next_to_the_mac(alice: User) -> None:
    response = client_for(alice).post("/feeders/new/", {"name": "Hall", "mac": "not-a-mac", "time_zone": "UTC"})
    assert response.status_code == 422
    assert field_error(response.content.decode(), "mac", "Not a MAC address")
    assert not Feeder.objects.exists()


def test_a_second_feeder_with_the_same_mac_gets_the_service_conflict_next_to_the_mac(alice: User, home: Home) -> None:
    mac = home.feeder.mac
    response = client_for(alice).post("/feeders/new/", {"name": "Hall", "mac": mac.lower(), "time_zone": "UTC"})
    assert field_error(response.content.decode(), "mac", f"You already have a feeder with MAC address {mac}")
    assert Feeder.objects.count() == 1


def test_adding_a_feeder_normalises_the_mac_and_opens_its_page(alice: User) -> None:
    client = client_for(alice)
    response = client.post("/feeders/new/", {"name": "Hall", "mac": "aa-bb-cc-dd-ee-01", "time_zone": "Europe/Paris"})
    feeder = Feeder.objects.get(household__memberships__user=alice)
    assert response["Location"] == f"/feeders/{feeder.pk}/"
    assert (feeder.mac, feeder.time_zone) == ("AA:BB:CC:DD:EE:01", "Europe/Paris")
    assert "Show a pairing code" in page(client, response["Location"])


def test_a_collar_tag_worn_twice_is_refused_next_to_the_tag(alice: User, home: Home) -> None:
    beacon = home.beacon
    data = {"name": "Tofu", "beacon": beacon.pk, "allowance_grams": 50, "period_minutes": 1440,
            "period_anchor": "00:00", "time_zone": "UTC"}  # fmt: skip
    response = client_for(alice).post("/pets/new/", data)
    assert field_error(response.content.decode(), "beacon", "already worn by another pet")
    assert not Pet.objects.filter(name="Tofu").exists()


def test_a_pet_with_a_negative_allowance_is_refused_next_to_the_allowance(alice: User) -> None:
    data = {"name": "Tofu", "allowance_grams": -5, "period_minutes": 1440, "period_anchor": "00:00", "time_zone": "UTC"}
    response = client_for(alice).post("/pets/new/", data)
    assert field_error(response.content.decode(), "allowance_grams", "greater than or equal to 0")
    assert not Pet.objects.exists()


def test_setting_the_allowance_on_the_pet_page_saves_only_what_changed(alice: User, home: Home) -> None:
    pet = home.pet
    client = client_for(alice)
    data = {"name": "Miso", "beacon": pet.beacon_id, "allowance_grams": 90, "period_minutes": 720,
            "period_anchor": "06:00", "time_zone": "Europe/Paris"}  # fmt: skip
    assert client.post(f"/pets/{pet.pk}/", data)["Location"] == f"/pets/{pet.pk}/"
    pet.refresh_from_db()
    assert (pet.allowance_grams, pet.period_minutes, pet.period_anchor) == (90, 720, dt.time(6, 0))
    html = page(client, f"/pets/{pet.pk}/")
    assert "allowance 180 g/day" in html  # 90 g per 12 h


def test_a_schedule_with_a_bad_time_is_refused_next_to_the_times(alice: User, home: Home) -> None:
    pet, feeder = home.pet, home.feeder
    data = {"new-pet": pet.pk, "new-feeder": feeder.pk, "new-times": "07:00, 25:61", "new-days_of_week": [1, 2],
            "new-grams": 20, "new-enabled": "on"}  # fmt: skip
    response = client_for(alice).post("/schedules/", data)
    assert response.status_code == 422
    assert field_error(response.content.decode(), "new-times", "Not a time of day HH:MM: 25:61")
    assert MealSchedule.objects.count() == 1


def test_the_schedule_editor_adds_changes_and_switches_off_a_schedule(alice: User, home: Home) -> None:
    pet, feeder, schedule = home.pet, home.feeder, home.schedule
    client = client_for(alice)
    data = {"new-pet": pet.pk, "new-feeder": feeder.pk, "new-times": "18:30,07:15", "new-days_of_week": [6, 7],
            "new-grams": 25, "new-enabled": "on"}  # fmt: skip
    assert client.post("/schedules/", data).status_code == 302
    added = MealSchedule.objects.exclude(pk=schedule.pk).get()
    assert (added.times, added.days_of_week, added.grams, added.enabled) == (["07:15", "18:30"], [6, 7], 25, True)
    assert added.next_run_at is not None

    prefix = f"s{schedule.pk}"
    edit = {f"{prefix}-times": "08:00", f"{prefix}-days_of_week": [1, 3, 5], f"{prefix}-grams": 30}  # enabled unticked
    assert client.post(f"/schedules/{schedule.pk}/", edit).status_code == 302
    schedule.refresh_from_db()
    assert (schedule.times, schedule.days_of_week, schedule.grams) == (["08:00"], [1, 3, 5], 30)
    assert (schedule.enabled, schedule.next_run_at) == (False, None)
    html = page(client, "/schedules/")
    assert "No meal coming: switched off" in html


def test_an_edit_error_stays_on_its_own_schedule_form(alice: User, home: Home) -> None:
    schedule = home.schedule
    prefix = f"s{schedule.pk}"
    edit = {f"{prefix}-times": "08:00", f"{prefix}-days_of_week": [1], f"{prefix}-grams": 5000}
    response = client_for(alice).post(f"/schedules/{schedule.pk}/", edit)
    assert response.status_code == 422
    assert field_error(response.content.decode(), f"{prefix}-grams", "less than or equal to 1000")


def test_feed_now_over_the_allowance_shows_the_service_error_next_to_the_grams(alice: User, home: Home) -> None:
    pet, feeder = home.pet, home.feeder
    response = client_for(alice).post("/feed/", {"feeder": feeder.pk, "pet": pet.pk, "grams": 70})
    assert response.status_code == 422
    assert field_error(response.content.decode(), "grams", "Miso may not eat 70 g now")
    assert not FeedCommand.objects.exists()


def test_feed_now_without_javascript_orders_the_feeder_and_goes_back(alice: User, home: Home) -> None:
    pet, feeder = home.pet, home.feeder
    data = {"feeder": feeder.pk, "pet": pet.pk, "grams": 20, "next": f"/pets/{pet.pk}/"}
    response = client_for(alice).post("/feed/", data)
    assert response["Location"] == f"/pets/{pet.pk}/"
    command = FeedCommand.objects.get()
    assert (command.grams, command.status, command.source) == (20, CommandStatus.PENDING, FeedSource.OWNER)


def test_feed_now_never_redirects_off_site(alice: User, home: Home) -> None:
    data = {"feeder": home.feeder.pk, "grams": 5, "next": "https://evil.example/"}
    assert client_for(alice).post("/feed/", data)["Location"] == "/"


def test_pairing_needs_a_verified_address_and_then_shows_a_code(alice: User, home: Home) -> None:
    feeder = home.feeder
    client = client_for(alice)
    EmailAddress.objects.filter(user=alice).update(verified=False)
    refused = client.post(f"/feeders/{feeder.pk}/pair/")
    assert refused.status_code == 403
    assert "Verify your e-mail address before pairing a device." in refused.content.decode()

    EmailAddress.objects.filter(user=alice).update(verified=True)
    html = client.post(f"/feeders/{feeder.pk}/pair/").content.decode()
    code = html.split('data-pairing-code aria-label="Pairing code">')[1].split("<")[0]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert "Type this code on the feeder" in html


def test_the_chart_draws_thirty_days_against_the_allowance(alice: User, home: Home) -> None:
    pet, feeder = home.pet, home.feeder
    now = timezone.now()
    FeedEvent.objects.create(pet=pet, feeder=feeder, grams=50, source=FeedSource.DEVICE, fed_at=now)
    FeedEvent.objects.create(
        pet=pet, feeder=feeder, grams=70, source=FeedSource.DEVICE, fed_at=now - dt.timedelta(days=3)
    )
    FeedEvent.objects.create(
        pet=pet, feeder=feeder, grams=9, source=FeedSource.DEVICE, fed_at=now - dt.timedelta(days=40)
    )
    html = page(client_for(alice), f"/pets/{pet.pk}/")
    assert html.count('<rect class="bar') == 30
    assert html.count('<rect class="bar over"') == 1  # 70 g on a 60 g day
    assert "120 g in 30 days; allowance 60 g a day." in html
    assert "allowance 60 g/day" in html


def test_the_history_filters_by_pet_kind_and_dates(alice: User, home: Home) -> None:
    pet, feeder = home.pet, home.feeder
    other = PetFactory(owner=alice, name="Tofu")
    now = timezone.now()
    FeedEvent.objects.create(pet=pet, feeder=feeder, grams=11, source=FeedSource.DEVICE, fed_at=now)
    FeedEvent.objects.create(pet=other, feeder=feeder, grams=22, source=FeedSource.DEVICE, fed_at=now)
    FeedEvent.objects.create(
        pet=pet, feeder=feeder, grams=33, source=FeedSource.DEVICE, fed_at=now - dt.timedelta(days=5)
    )
    client = client_for(alice)
    html = page(client, f"/history/?kind=feedings&pet={pet.pk}")
    assert "<strong>11 g</strong>" in html
    assert "<strong>33 g</strong>" in html
    assert "<strong>22 g</strong>" not in html
    assert "Visits <span" not in html
    today = now.date().isoformat()
    html = page(client, f"/history/?kind=feedings&since={today}&until={today}")
    assert "<strong>11 g</strong>" in html
    assert "<strong>22 g</strong>" in html
    assert "<strong>33 g</strong>" not in html
    html = page(client, f"/history/?kind=visits&pet={pet.pk}")
    assert "No visits match these filters." in html
    html = page(client, "/history/?since=2026-05-02&until=2026-05-01")
    assert field_error(html, "until", "The end is before the start.")


def test_a_collar_tag_is_added_renamed_and_deleted(alice: User) -> None:
    client = client_for(alice)
    assert client.post("/collar-tags/", {"name": "Blue", "mac": "b1b1b1b1b1b1"}).status_code == 302
    beacon = Beacon.objects.get(household__memberships__user=alice)
    assert beacon.mac == "B1:B1:B1:B1:B1:B1"
    refused = client.post("/collar-tags/", {"name": "Again", "mac": "B1:B1:B1:B1:B1:B1"})
    assert refused.status_code == 422
    assert field_error(refused.content.decode(), "mac", "You already have a collar tag with MAC address")
    assert client.post(f"/collar-tags/{beacon.pk}/", {"name": "Navy", "mac": beacon.mac}).status_code == 302
    beacon.refresh_from_db()
    assert beacon.name == "Navy"
    assert client.post(f"/collar-tags/{beacon.pk}/delete/").status_code == 302
    assert not Beacon.objects.exists()


def test_a_photo_that_is_not_an_image_is_refused_next_to_the_file(alice: User, home: Home, media: object) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    pet = home.pet
    upload = SimpleUploadedFile("cat.jpg", b"not an image at all", content_type="image/jpeg")
    response = client_for(alice).post(f"/pets/{pet.pk}/photos/", {"file": upload})
    assert response.status_code == 422
    assert 'class="field has-error" data-field="file"' in response.content.decode()
    assert not pet.photos.exists()


def test_the_dashboard_page_is_in_the_owner_time_zone(alice: User, home: Home) -> None:
    alice.time_zone = "Asia/Tokyo"
    alice.save(update_fields=["time_zone"])
    pet, feeder = home.pet, home.feeder
    at = dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC)  # 08:30 on Tuesday in Tokyo
    FeedEvent.objects.create(pet=pet, feeder=feeder, grams=5, source=FeedSource.DEVICE, fed_at=at)
    assert "Tue 3 Mar 08:30" in page(client_for(alice), "/")


def test_pages_say_when_changes_are_paused_for_maintenance(alice: User) -> None:
    from apps.ops.services import maintenance_set

    maintenance_set(enabled=True, by="test", message="back at five")
    try:
        assert "Maintenance: back at five" in page(client_for(alice), "/")
    finally:
        maintenance_set(enabled=False, by="test")


def test_a_time_zone_the_server_does_not_know_shows_utc_rather_than_failing(alice: User, home: Home) -> None:
    alice.time_zone = "Atlantis/Capital"  # e.g. removed from tzdata
    alice.save(update_fields=["time_zone"])
    at = dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC)
    FeedEvent.objects.create(pet=home.pet, feeder=home.feeder, grams=5, source=FeedSource.DEVICE, fed_at=at)
    assert "Mon 2 Mar 23:30" in page(client_for(alice), "/")
