"""Every API route and method, called with another household's ids: zero successes, zero leaks;
as a viewer of that household: every read, no write (403); as a removed member: nothing (404).

The routes come from the OpenAPI document, so a route added later is swept
without touching this file; request bodies are built from its schemas, with
every `*_id` field pointing at bob's objects.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from allauth.usersessions.models import UserSession
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.test import Client

from apps.accounts.models import User
from apps.feeders.models import FeedCommand, Feeder, FeedEvent, FeedSource, MealSchedule, Pet, PetPhoto, Visit
from apps.feeders.models.access import FeederExclusion
from apps.feeders.tests import images
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory, ScheduleFactory
from apps.households.models import Household, Membership
from apps.households.roles import Role
from apps.households.services import invitation_create, member_remove
from apps.households.tests.factories import member_add
from conftest import app_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
UNSAFE = {"post", "put", "patch", "delete"}
OUTAGE_PATIENCE = 15  # seconds a write refused for a dependency down is asked again


def own_world(user: User, tag: str) -> dict[str, Any]:
    beacon = BeaconFactory(owner=user, name=f"{tag}-collar", mac=f"{tag[:2].upper()}:00:00:00:00:01")
    pet = PetFactory(owner=user, name=f"{tag}-pet", beacon=beacon, allowance_grams=500)
    feeder = FeederFactory(owner=user, name=f"{tag}-feeder", mac=f"{tag[:2].upper()}:00:00:00:00:02")
    schedule = ScheduleFactory(pet=pet, feeder=feeder)
    kept_off = PetFactory(owner=user, name=f"{tag}-kept-off")  # an access list that is not the default
    FeederExclusion.objects.create(feeder=feeder, pet=kept_off)
    command = FeedCommand.objects.create(feeder=feeder, pet=pet, grams=10, source=FeedSource.OWNER)
    Visit.objects.create(feeder=feeder, pet=pet, beacon_mac=beacon.mac, seen_at=dt.datetime.now(dt.UTC))
    FeedEvent.objects.create(feeder=feeder, pet=pet, grams=10, source=FeedSource.DEVICE, fed_at=dt.datetime.now(dt.UTC))
    app_token(Client(), user)  # a session (app token) of the user's own
    session = UserSession.objects.filter(user=user).latest("pk")
    photo = own_photo(pet)
    household = feeder.household
    household.name = f"{tag}-household"
    household.save()
    invitation, _ = invitation_create(user=user, household_id=household.pk, email=f"{tag}-guest@example.com",
                                      role=Role.MEMBER)  # fmt: skip
    return {
        "ids": {"feeder_id": feeder.pk, "pet_id": pet.pk, "beacon_id": beacon.pk, "schedule_id": schedule.pk,
                "command_id": command.pk, "session_id": session.pk, "photo_id": photo.pk, "variant": "original",
                "household_id": household.pk, "user_id": user.pk, "invitation_id": invitation.pk},
        "secrets": [f"{tag}-collar", f"{tag}-pet", f"{tag}-kept-off", f"{tag}-feeder", beacon.mac, feeder.mac,
                    user.email, photo.token, household.name, invitation.email],
    }  # fmt: skip


# -- pet photos: a stored photo with its thumbnails, and multipart bodies --
def own_photo(pet: Pet) -> PetPhoto:
    from apps.feeders.services import photos as photo_services

    photo = photo_services.photo_create(pet=pet, file=SimpleUploadedFile("p.png", images.png()))
    return photo_services.photo_thumbnails_make(photo=photo)


def multipart(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """A form for a multipart body: a real image in each file field, a sample in the others."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return {
        key: SimpleUploadedFile(f"{key}.png", images.png())
        if sub.get("format") == "binary"
        else sample(sub, components, key, {})
        for key, sub in schema.get("properties", {}).items()
    }


def snapshot(user: User) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    owned_through = [
        (Household, ""), (Membership, "household__"), (Feeder, "household__"), (Pet, "household__"),
        (MealSchedule, "pet__household__"), (FeedCommand, "feeder__household__"), (Visit, "feeder__household__"),
        (FeedEvent, "feeder__household__"), (PetPhoto, "pet__household__"), (FeederExclusion, "feeder__household__"),
    ]  # fmt: skip
    for model, household_path in owned_through:
        owned = model.objects.filter(**{f"{household_path}memberships__user": user}).order_by("pk")
        rows += [model_to_dict(row, exclude=["members"]) for row in owned]  # members: the Membership rows
    return rows


def sample(schema: dict[str, Any], components: dict[str, Any], name: str, ids: dict[str, Any]) -> Any:
    """A value that satisfies `schema`, with ids taken from `ids`."""
    if "$ref" in schema:
        return sample(components[schema["$ref"].rsplit("/", 1)[1]], components, name, ids)
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return sample(options[0], components, name, ids)
    if name in ids:
        return ids[name]
    if "examples" in schema:
        return schema["examples"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: sample(sub, components, key, ids) for key, sub in props.items()}
    if kind == "array":
        return [sample(schema.get("items", {}), components, name, ids)]
    if "enum" in schema:
        return schema["enum"][0]
    formats = {"date": "2020-01-01", "date-time": "2026-01-01T00:00:00Z", "time": "07:00:00"}
    if schema.get("format") in formats:
        return formats[schema["format"]]
    values = {"string": "x", "integer": max(schema.get("minimum", 1), 1), "number": 1.0, "boolean": True}
    return values.get(kind, "x")  # type: ignore[arg-type]


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]


def call(client: Client, path: str, method: str, op: dict[str, Any], components: dict[str, Any], ids: dict[str, Any]):  # type: ignore[no-untyped-def]
    url = re.sub(r"{(\w+)}", lambda m: str(ids[m.group(1)]), path)
    form = op.get("requestBody", {}).get("content", {}).get("multipart/form-data", {}).get("schema")
    if form:
        return getattr(client, method)(url, multipart(form, components["schemas"]))
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    payload = sample(body, components["schemas"], "", ids) if body else None
    return (
        getattr(client, method)(url, payload, content_type="application/json")
        if payload
        else getattr(client, method)(url)
    )


def answered(request: Callable[[], Any]) -> Any:
    """The response to `request`, asked again while the write refusal says a dependency is down.

    Writes are refused (503) while this process's readiness checks last saw a critical
    dependency down; on a busy CI machine a check ran past its timeout once and refused a
    write of the sweep. That 503 says nothing about Bob's rows: the sweep asks again, for
    a bounded time, and a refusal that lasts fails with its detail.
    """
    deadline = time.monotonic() + OUTAGE_PATIENCE
    while True:
        response = request()
        outage = response.status_code == 503 and b"dependency-unavailable" in response.content
        if not outage or time.monotonic() > deadline:
            return response
        time.sleep(1)


def for_owners(op: dict[str, Any]) -> bool:
    owner_schemes = {"AppTokenAuth", "BrowserSessionAuth"}
    return any(owner_schemes & set(requirement) for requirement in op.get("security", [{"AppTokenAuth": []}]))


@pytest.mark.parametrize("actor", ["alice", "charlie"])
def test_every_route_refuses_bobs_ids_and_leaks_nothing(actor: str, alice: User, bob: User, charlie: User) -> None:
    own_world(alice, "alice")
    bobs = own_world(bob, "bobby")
    before = snapshot(bob)
    schema = Client().get("/api/openapi.json").json()
    user = {"alice": alice, "charlie": charlie}[actor]

    swept = 0
    for path, method, op in operations(schema):
        client = Client()  # a fresh log-in each time: the sweep also runs "log out everywhere"
        client.force_login(user)
        response = answered(functools.partial(call, client, path, method, op, schema["components"], bobs["ids"]))
        where = f"{method.upper()} {path} -> {response.status_code} {response.content[:300]!r}"
        if "{" in path:
            assert response.status_code == 404, where
        elif any(name in str(op.get("requestBody", "")) for name in bobs["ids"]) and method in UNSAFE:
            # the body names bob's objects; a device-only message wants a device's credentials
            assert response.status_code == (422 if for_owners(op) else 401), where
        content = response.content.decode()
        for secret in bobs["secrets"]:
            assert secret not in content, f"{where} leaked {secret!r}"
        swept += 1

    assert snapshot(bob) == before
    assert swept >= 25


def test_every_route_needs_authentication(bob: User) -> None:
    bobs = own_world(bob, "bobby")
    schema = Client().get("/api/openapi.json").json()
    for path, method, op in operations(schema):
        if op.get("security") == []:
            continue  # documented as public: the arithmetic example messages, Pair
        response = call(Client(), path, method, op, schema["components"], bobs["ids"])
        assert response.status_code in (401, 422), f"{method.upper()} {path} -> {response.status_code}"
        assert "bobby" not in response.content.decode()


HOUSEHOLD_ROWS = re.compile(r"^/api/(feeders|beacons|pets|schedules|photos|households/\{household_id\}(?!/leave))")


def household_write(path: str, method: str) -> bool:
    """A write of the household's rows or of the household itself (leaving it is the member's own)."""
    return method in UNSAFE and (HOUSEHOLD_ROWS.match(path) is not None or path == "/api/messages/FeederFeed")


def test_a_viewer_reads_bobs_household_and_every_write_is_403(bob: User, charlie: User) -> None:
    bobs = own_world(bob, "bobby")
    member_add(Household.objects.get(memberships__user=bob), charlie, Role.VIEWER)
    before = snapshot(bob)
    schema = Client().get("/api/openapi.json").json()
    writes = 0
    for path, method, op in operations(schema):
        if path.endswith("/leave"):
            continue  # a viewer may leave (apps/households/tests): the sweep goes on as a viewer
        client = Client()
        client.force_login(charlie)
        response = answered(functools.partial(call, client, path, method, op, schema["components"], bobs["ids"]))
        body = b"(a file)" if response.streaming else response.content[:300]
        where = f"{method.upper()} {path} -> {response.status_code} {body!r}"
        if household_write(path, method) or path == "/api/households/{household_id}/invitations":  # owners only
            assert response.status_code == 403, where
            writes += 1
        elif method == "get" and "{" in path and not path.startswith("/api/me/"):
            assert response.status_code in (200, 302), where  # a photo's file may be a redirect
    assert snapshot(bob) == before
    assert writes >= 20


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER, Role.OWNER])
def test_a_removed_member_finds_nothing_of_the_household(role: Role, bob: User, charlie: User) -> None:
    bobs = own_world(bob, "bobby")
    household = Household.objects.get(memberships__user=bob)
    member_add(household, charlie, role)
    member_remove(user=bob, household_id=household.pk, member_id=charlie.pk)
    before = snapshot(bob)
    schema = Client().get("/api/openapi.json").json()
    for path, method, op in operations(schema):
        client = Client()
        client.force_login(charlie)
        response = answered(functools.partial(call, client, path, method, op, schema["components"], bobs["ids"]))
        where = f"{method.upper()} {path} -> {response.status_code} {response.content[:300]!r}"
        if "{" in path:
            assert response.status_code == 404, where
        for secret in bobs["secrets"]:
            assert secret not in response.content.decode(), f"{where} leaked {secret!r}"
    assert snapshot(bob) == before
