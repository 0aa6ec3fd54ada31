"""What the database would refuse is a 422 first, naming the field, and changes nothing.

PostgreSQL is the one that refuses (a NUL in text, an offset beyond ±15:59, a
number over a column's range): run these on it too (DATABASE_URL), as CI does.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.http import Http404
from django.test import Client

from apps.accounts.models import User
from apps.api.messages.builtin import Authenticate
from apps.feeders.models import Beacon, Feeder, FeedEvent, FeedSource, MealSchedule, Pet
from apps.feeders.protocol import CommandResult, Fed, Hello, Pair
from apps.feeders.selectors import pets as pet_selectors
from apps.feeders.services import devices as device_services
from apps.feeders.services import pets as pet_services
from apps.feeders.services import presence as presence_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory, ScheduleFactory
from catfeeder.testing import AsgiServer
from tests.test_schemathesis import login

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"
TOO_BIG = 2**63  # one over PostgreSQL's bigint and SQLite's integer
RACES = 30


def fields_of(response: object) -> set[str]:
    assert response.status_code == 422, response.content  # type: ignore[attr-defined]
    assert response["Content-Type"] == PROBLEM  # type: ignore[index]
    return {str(error["loc"][-1]) for error in response.json()["errors"]}  # type: ignore[attr-defined]


def send(client: Client, method: str, path: str, raw: str) -> object:
    """A raw JSON body, so that escapes such as a lone surrogate reach the server as a client sent them."""
    return getattr(client, method)(path, raw, content_type="application/json")


# -- control characters in text ---------------------------------------------------------------------
@pytest.mark.parametrize("text", ["Tom\x00", "\x00", "To\x1bm", "Tom\x7f"])
def test_a_control_character_in_a_pet_is_422_naming_each_field(as_alice: Client, text: str) -> None:
    response = as_alice.post(
        "/api/pets", {"name": text, "breed": text, "microchip_id": text}, content_type="application/json"
    )
    assert fields_of(response) == {"name", "breed", "microchip_id"}
    assert not Pet.objects.exists()


def test_a_lone_surrogate_is_422_not_an_encoding_error(as_alice: Client) -> None:
    response = send(as_alice, "post", "/api/pets", '{"name": "Tom", "breed": "\\ud800"}')
    assert fields_of(response) == {"breed"}
    assert not Pet.objects.exists()


def test_tabs_and_line_breaks_are_text(as_alice: Client) -> None:
    response = as_alice.post("/api/pets", {"name": "Tom", "breed": "Maine\tCoon\r\n"}, content_type="application/json")
    assert response.status_code == 201, response.content


def test_a_nul_in_a_feeder_update_changes_nothing(as_alice: Client, alice: User) -> None:
    feeder = FeederFactory(owner=alice, city="Lyon", name="Kitchen")
    response = as_alice.patch(
        f"/api/feeders/{feeder.pk}", {"name": "New", "city": "Ly\x00on", "country": "\x00"},
        content_type="application/json",
    )  # fmt: skip
    assert fields_of(response) == {"city", "country"}
    feeder.refresh_from_db()
    assert (feeder.name, feeder.city) == ("Kitchen", "Lyon")


def test_a_nul_in_a_collar_tag_name_is_422(as_alice: Client) -> None:
    response = as_alice.post(
        "/api/beacons", {"name": "Blue\x00", "mac": "AA:BB:CC:DD:EE:01"}, content_type="application/json"
    )
    assert fields_of(response) == {"name"}
    assert not Beacon.objects.exists()


@pytest.mark.parametrize("path", ["/api/feeders", "/api/beacons", "/api/pets"])
def test_a_nul_in_a_search_filter_is_422(as_alice: Client, path: str) -> None:
    assert fields_of(as_alice.get(path, {"search": "a\x00b"})) == {"search"}


def test_a_nul_in_my_name_is_422(as_alice: Client, alice: User) -> None:
    response = as_alice.patch("/api/me", {"name": "Al\x00ice"}, content_type="application/json")
    assert fields_of(response) == {"name"}
    alice.refresh_from_db()
    assert alice.name == "Alice"


@pytest.mark.parametrize(
    ("message", "fields"),
    [
        (Hello, {"firmware": "1.0\x00"}),
        (Pair, {"code": "K7QM\x00XPA", "mac": "AA:BB:CC:DD:EE:FF"}),
        (Fed, {"beacon_mac": "AA:BB:CC:DD:EE:FF", "grams": 5, "event_id": "e\x001"}),
        (CommandResult, {"command_id": 1, "status": "failed", "error": "jam\x00"}),
        (Authenticate, {"token": "abcdefgh\x00"}),
    ],
)
def test_typed_messages_refuse_control_characters(message: type, fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="Control characters are not allowed"):
        message.model_validate(fields)  # type: ignore[attr-defined]


# -- datetimes --------------------------------------------------------------------------------------
def test_an_offset_postgresql_would_refuse_is_read_as_the_instant_it_names(as_alice: Client, alice: User) -> None:
    feeder = FeederFactory(owner=alice)
    FeedEvent.objects.create(
        feeder=feeder, grams=5, source=FeedSource.OWNER, fed_at=dt.datetime(2026, 1, 1, 15, 30, tzinfo=dt.UTC)
    )
    FeedEvent.objects.create(
        feeder=feeder, grams=5, source=FeedSource.OWNER, fed_at=dt.datetime(2026, 1, 1, 16, 30, tzinfo=dt.UTC)
    )
    # RFC 3339 allows -16:00; PostgreSQL stores no such offset, so the instant is taken in UTC (16:00Z).
    response = as_alice.get(f"/api/feeders/{feeder.pk}/feedings", {"since": "2026-01-01T00:00:00-16:00"})
    assert response.status_code == 200, response.content
    assert [event["fed_at"] for event in response.json()["items"]] == ["2026-01-01T16:30:00Z"]


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-02:00"])
def test_an_instant_outside_the_years_a_database_stores_is_422(as_alice: Client, alice: User, since: str) -> None:
    feeder = FeederFactory(owner=alice)
    assert fields_of(as_alice.get(f"/api/feeders/{feeder.pk}/visits", {"since": since})) == {"since"}


# -- integers ---------------------------------------------------------------------------------------
def test_an_id_no_column_holds_is_422_naming_it(as_alice: Client, alice: User) -> None:
    pet, feeder = PetFactory(owner=alice), FeederFactory(owner=alice)
    response = as_alice.post("/api/pets", {"name": "Tom", "beacon_id": TOO_BIG}, content_type="application/json")
    assert fields_of(response) == {"beacon_id"}
    response = as_alice.post(
        "/api/schedules", {"pet_id": -1, "feeder_id": TOO_BIG, "times": ["07:00"], "grams": 5},
        content_type="application/json",
    )  # fmt: skip
    assert fields_of(response) == {"pet_id", "feeder_id"}
    response = as_alice.post(
        f"/api/feeders/{feeder.pk}/feed", {"grams": 5, "pet_id": TOO_BIG}, content_type="application/json"
    )
    assert fields_of(response) == {"pet_id"}
    assert (Pet.objects.count(), MealSchedule.objects.count()) == (1, 0)
    assert pet.pk


@pytest.mark.parametrize("query", [{"feeder_id": TOO_BIG}, {"pet_id": 0}, {"limit": TOO_BIG}, {"offset": -1}])
def test_a_query_number_no_column_holds_is_422(as_alice: Client, query: dict[str, int]) -> None:
    path = "/api/commands" if "pet_id" not in query else "/api/schedules"
    assert fields_of(as_alice.get(path, query)) == set(query)


def test_a_path_id_no_column_holds_is_404(as_alice: Client) -> None:
    assert as_alice.get(f"/api/pets/{TOO_BIG}").status_code == 404
    assert (
        as_alice.patch(f"/api/feeders/{TOO_BIG * 10}", {"name": "x"}, content_type="application/json").status_code
        == 404
    )


def test_a_typed_message_id_no_column_holds_is_422(as_alice: Client) -> None:
    response = as_alice.get("/api/messages/GetFeederStatus", {"feeder_id": TOO_BIG})
    assert response.status_code == 422, response.content
    assert "feeder_id" in json.dumps(response.json())


# -- a row deleted under a concurrent update -------------------------------------------------------
def test_a_pet_deleted_between_read_and_save_is_404(alice: User) -> None:
    pet = pet_selectors.pet_get(user=alice, pet_id=PetFactory(owner=alice).pk)
    Pet.objects.filter(pk=pet.pk).delete()  # a DELETE that won the race
    with pytest.raises(Http404):
        pet_services.pet_update(pet=pet, data={"name": "Renamed"})
    assert not Pet.objects.exists()  # not re-created by the update


@pytest.mark.parametrize("kind", ["feeder", "beacon", "schedule", "heartbeat", "hello"])
def test_any_row_deleted_between_read_and_save_is_404(alice: User, kind: str) -> None:
    if kind == "feeder":
        row: Feeder | Beacon | MealSchedule = FeederFactory(owner=alice)
        update = lambda: device_services.feeder_update(feeder=row, data={"city": "Lyon"})  # noqa: E731
    elif kind == "beacon":
        row = BeaconFactory(owner=alice)
        update = lambda: device_services.beacon_update(beacon=row, data={"name": "Blue"})  # noqa: E731
    elif kind == "heartbeat":  # the owner removed the feeder while its device stayed connected
        row = FeederFactory(owner=alice)
        update = lambda: presence_services.feeder_heartbeat(feeder=row, food_level_percent=50, signal_dbm=-60)  # noqa: E731
    elif kind == "hello":
        row = FeederFactory(owner=alice)
        update = lambda: presence_services.feeder_hello(feeder=row, firmware="1.2", ip=None)  # noqa: E731
    else:
        row = ScheduleFactory(pet=PetFactory(owner=alice), feeder=FeederFactory(owner=alice))
        update = lambda: schedule_services.schedule_update(schedule=row, data={"grams": 7})  # noqa: E731
    type(row).objects.filter(pk=row.pk).delete()
    with pytest.raises(Http404):
        update()
    assert not type(row).objects.filter(pk=row.pk).exists()


def test_patches_racing_deletes_on_a_real_server_are_200_or_404_never_500(asgi_server: AsgiServer, alice: User) -> None:
    """Each pet gets a PATCH and a DELETE released together, from two threads on two connections."""
    pets = [PetFactory(owner=alice).pk for _ in range(RACES)]
    token = login(asgi_server, alice)

    def call(method: str, pet_id: int, barrier: threading.Barrier) -> int:
        body = json.dumps({"name": "Renamed", "breed": "Tabby"}).encode() if method == "PATCH" else None
        request = urllib.request.Request(  # noqa: S310 - loopback URL
            f"{asgi_server.url}/api/pets/{pet_id}", data=body, method=method,
            headers={"X-Session-Token": token, "Content-Type": "application/json"},
        )  # fmt: skip
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback URL
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=2) as pool:
        for pet_id in pets:
            barrier = threading.Barrier(2)
            patch, delete = pool.submit(call, "PATCH", pet_id, barrier), pool.submit(call, "DELETE", pet_id, barrier)
            assert (patch.result(), delete.result()) in {(200, 204), (404, 204)}
    assert not Pet.objects.filter(pk__in=pets).exists()  # an update never brings a deleted pet back
