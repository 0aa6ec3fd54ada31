"""REST routes for the feeders domain. Handlers: parse, call one service or selector, answer.

No `from __future__ import annotations` here, unlike the house style: ninja
reads handler annotations at run time, and through its pagination wrapper it
cannot resolve postponed (string) ones.
"""

from typing import TYPE_CHECKING, Any

from django.http import Http404, HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from apps.accounts.auth import owner
from apps.api.problems import responses
from apps.feeders.errors import InvalidReference
from apps.feeders.models import Beacon, Feeder, FeedSource, Pet
from apps.feeders.schemas import (
    AllowanceOut,
    BeaconCreateIn,
    BeaconFilter,
    BeaconOut,
    BeaconUpdateIn,
    CommandFilter,
    CommandOut,
    DeviceTokenOut,
    FeederCreateIn,
    FeederFilter,
    FeederOut,
    FeederPetsOut,
    FeederPetsUpdateIn,
    FeederStatusOut,
    FeederUpdateIn,
    FeedEventOut,
    FeedNowIn,
    InHousehold,
    PairingCodeOut,
    PetCreateIn,
    PetFilter,
    PetOut,
    PetUpdateIn,
    ScheduleCreateIn,
    ScheduleFilter,
    ScheduleOut,
    ScheduleUpdateIn,
    TimeRange,
    VisitOut,
)  # fmt: skip
from apps.feeders.selectors import access as access_selectors
from apps.feeders.selectors import allowance as allowance_selectors
from apps.feeders.selectors import commands as command_selectors
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.selectors import pets as pet_selectors
from apps.feeders.selectors import schedules as schedule_selectors
from apps.feeders.services import access as access_services
from apps.feeders.services import commands as command_services
from apps.feeders.services import devices as device_services
from apps.feeders.services import pets as pet_services
from apps.feeders.services import schedules as schedule_services
from apps.households.roles import Role
from apps.households.services import household_for_write

if TYPE_CHECKING:
    from apps.accounts.models import User

feeders = Router(tags=["feeders"])
beacons = Router(tags=["beacons"])
pets = Router(tags=["pets"])
schedules = Router(tags=["schedules"])
commands = Router(tags=["commands"])

NO_CONTENT = responses({204: None})
FEEDER_OUT_FIELDS = list(FeederOut.model_fields)


# Objects named in a request body: someone else's and a missing one look alike (422).
def _beacon_ref(user: "User", beacon_id: int | None) -> Beacon | None:
    if beacon_id is None:
        return None
    try:
        return device_selectors.beacon_get(user=user, beacon_id=beacon_id, role=Role.MEMBER)
    except Http404:
        raise InvalidReference("beacon_id", "collar tag") from None


def _pet_ref(user: "User", pet_id: int) -> Pet:
    try:
        return pet_selectors.pet_get(user=user, pet_id=pet_id, role=Role.MEMBER)
    except Http404:
        raise InvalidReference("pet_id", "pet") from None


def _feeder_ref(user: "User", feeder_id: int) -> Feeder:
    try:
        return device_selectors.feeder_get(user=user, feeder_id=feeder_id, role=Role.MEMBER)
    except Http404:
        raise InvalidReference("feeder_id", "feeder") from None


def _pets_ref(user: "User", pet_ids: list[int]) -> list[Pet]:
    found = list(pet_selectors.pet_list(user=user).filter(pk__in=pet_ids))
    if len(found) != len(set(pet_ids)):
        raise InvalidReference("pet_ids", "pet")
    return found


# -- feeders -------------------------------------------------------------------------
@feeders.get("", response=responses({200: list[FeederOut]}), summary="List my feeders")
@paginate
def feeder_list(request: HttpRequest, filters: Query[FeederFilter]) -> Any:
    # Rows as dicts of the answer's fields: building 20 model instances was a tenth of the list's read and check.
    return device_selectors.feeder_list(user=owner(request), **filters.model_dump()).values(*FEEDER_OUT_FIELDS)


@feeders.post("", response=responses({201: FeederOut}), summary="Register a feeder")
def feeder_create(request: HttpRequest, payload: FeederCreateIn, target: Query[InHousehold]) -> Status[Feeder]:
    household = household_for_write(user=owner(request), household_id=target.household)
    return Status(201, device_services.feeder_create(household=household, **payload.model_dump()))


@feeders.get("/{feeder_id}", response=responses({200: FeederOut}), summary="One feeder")
def feeder_read(request: HttpRequest, feeder_id: int) -> Feeder:
    return device_selectors.feeder_get(user=owner(request), feeder_id=feeder_id)


@feeders.patch("/{feeder_id}", response=responses({200: FeederOut}), summary="Change a feeder")
def feeder_update(request: HttpRequest, feeder_id: int, payload: FeederUpdateIn) -> Feeder:
    feeder = device_selectors.feeder_get(user=owner(request), feeder_id=feeder_id, role=Role.MEMBER)
    return device_services.feeder_update(feeder=feeder, data=payload.model_dump(exclude_unset=True))


@feeders.delete("/{feeder_id}", response=NO_CONTENT, summary="Remove a feeder and its history")
def feeder_delete(request: HttpRequest, feeder_id: int) -> Status[None]:
    device_services.feeder_delete(
        feeder=device_selectors.feeder_get(user=owner(request), feeder_id=feeder_id, role=Role.MEMBER)
    )
    return Status(204, None)


@feeders.get("/{feeder_id}/status", response=responses({200: FeederStatusOut}), summary="Online, last seen, food")
def feeder_status(request: HttpRequest, feeder_id: int) -> Feeder:
    return device_selectors.feeder_get(user=owner(request), feeder_id=feeder_id)


@feeders.get("/{feeder_id}/visits", response=responses({200: list[VisitOut]}), summary="Tags seen at a feeder")
@paginate
def feeder_visits(request: HttpRequest, feeder_id: int, period: Query[TimeRange]) -> Any:
    user = owner(request)
    feeder = device_selectors.feeder_get(user=user, feeder_id=feeder_id)
    return pet_selectors.visit_list(user=user, feeder=feeder, **period.model_dump())


@feeders.get("/{feeder_id}/feedings", response=responses({200: list[FeedEventOut]}), summary="Food dispensed")
@paginate
def feeder_feedings(request: HttpRequest, feeder_id: int, period: Query[TimeRange]) -> Any:
    user = owner(request)
    feeder = device_selectors.feeder_get(user=user, feeder_id=feeder_id)
    return pet_selectors.feed_event_list(user=user, feeder=feeder, **period.model_dump())


@feeders.post("/{feeder_id}/feed", response=responses({202: CommandOut}), summary="Feed now")
def feeder_feed_now(request: HttpRequest, feeder_id: int, payload: FeedNowIn) -> Status[Any]:
    user = owner(request)
    feeder = device_selectors.feeder_get(user=user, feeder_id=feeder_id, role=Role.MEMBER)
    pet = None if payload.pet_id is None else _pet_ref(user, payload.pet_id)
    create = command_services.feed_command_create
    return Status(202, create(feeder=feeder, pet=pet, grams=payload.grams, source=FeedSource.OWNER, ordered_by=user))


@feeders.get("/{feeder_id}/pets", response=responses({200: FeederPetsOut}), summary="Pets that may eat here")
def feeder_pets(request: HttpRequest, feeder_id: int) -> Any:
    feeder = device_selectors.feeder_get(user=owner(request), feeder_id=feeder_id)
    return {"pet_ids": [pet.pk for pet in access_selectors.feeder_pets_allowed(feeder=feeder)]}


@feeders.put("/{feeder_id}/pets", response=responses({200: FeederPetsOut}), summary="Set the pets that may eat here")
def feeder_pets_set(request: HttpRequest, feeder_id: int, payload: FeederPetsUpdateIn) -> Any:
    user = owner(request)
    # The path's object first: 404 before 422.
    feeder = device_selectors.feeder_get(user=user, feeder_id=feeder_id, role=Role.MEMBER)
    allowed = access_services.feeder_pets_set(feeder=feeder, pets=_pets_ref(user, payload.pet_ids))
    return {"pet_ids": [pet.pk for pet in allowed]}


@feeders.post("/{feeder_id}/pairing-code", response=responses({201: PairingCodeOut}), summary="A code to pair a device")
def feeder_pairing_code(request: HttpRequest, feeder_id: int) -> Status[Any]:
    user = owner(request)
    feeder = device_selectors.feeder_get(user=user, feeder_id=feeder_id, role=Role.MEMBER)
    pairing, code = device_services.pairing_code_create(feeder=feeder, user=user)
    return Status(201, {"code": code, "expires_at": pairing.expires_at})


@feeders.post("/{feeder_id}/token", response=responses({201: DeviceTokenOut}), summary="Rotate the device token")
def feeder_token_rotate(request: HttpRequest, feeder_id: int) -> Status[Any]:
    rotated = device_services.device_token_rotate(
        feeder=device_selectors.feeder_get(user=owner(request), feeder_id=feeder_id, role=Role.MEMBER)
    )
    return Status(201, {"token": rotated.token, "previous_valid_until": rotated.previous_valid_until})


@feeders.delete("/{feeder_id}/token", response=NO_CONTENT, summary="Revoke the device token (it disconnects)")
def feeder_token_revoke(request: HttpRequest, feeder_id: int) -> Status[None]:
    device_services.device_token_revoke(
        feeder=device_selectors.feeder_get(user=owner(request), feeder_id=feeder_id, role=Role.MEMBER)
    )
    return Status(204, None)


# -- beacons -------------------------------------------------------------------------
@beacons.get("", response=responses({200: list[BeaconOut]}), summary="List my collar tags")
@paginate
def beacon_list(request: HttpRequest, filters: Query[BeaconFilter]) -> Any:
    return device_selectors.beacon_list(user=owner(request), **filters.model_dump())


@beacons.post("", response=responses({201: BeaconOut}), summary="Register a collar tag")
def beacon_create(request: HttpRequest, payload: BeaconCreateIn, target: Query[InHousehold]) -> Status[Beacon]:
    household = household_for_write(user=owner(request), household_id=target.household)
    return Status(201, device_services.beacon_create(household=household, **payload.model_dump()))


@beacons.get("/{beacon_id}", response=responses({200: BeaconOut}), summary="One collar tag")
def beacon_read(request: HttpRequest, beacon_id: int) -> Beacon:
    return device_selectors.beacon_get(user=owner(request), beacon_id=beacon_id)


@beacons.patch("/{beacon_id}", response=responses({200: BeaconOut}), summary="Change a collar tag")
def beacon_update(request: HttpRequest, beacon_id: int, payload: BeaconUpdateIn) -> Beacon:
    beacon = device_selectors.beacon_get(user=owner(request), beacon_id=beacon_id, role=Role.MEMBER)
    return device_services.beacon_update(beacon=beacon, data=payload.model_dump(exclude_unset=True))


@beacons.delete("/{beacon_id}", response=NO_CONTENT, summary="Remove a collar tag")
def beacon_delete(request: HttpRequest, beacon_id: int) -> Status[None]:
    device_services.beacon_delete(
        beacon=device_selectors.beacon_get(user=owner(request), beacon_id=beacon_id, role=Role.MEMBER)
    )
    return Status(204, None)


# -- pets ------------------------------------------------------------------------------
@pets.get("", response=responses({200: list[PetOut]}), summary="List my pets")
@paginate
def pet_list(request: HttpRequest, filters: Query[PetFilter]) -> Any:
    return pet_selectors.pet_list(user=owner(request), **filters.model_dump())


@pets.post("", response=responses({201: PetOut}), summary="Add a pet")
def pet_create(request: HttpRequest, payload: PetCreateIn, target: Query[InHousehold]) -> Status[Pet]:
    user = owner(request)
    household = household_for_write(user=user, household_id=target.household)
    fields = payload.model_dump(exclude={"beacon_id"})
    beacon = _beacon_ref(user, payload.beacon_id)
    return Status(201, pet_services.pet_create(household=household, beacon=beacon, **fields))


@pets.get("/{pet_id}", response=responses({200: PetOut}), summary="One pet")
def pet_read(request: HttpRequest, pet_id: int) -> Pet:
    return pet_selectors.pet_get(user=owner(request), pet_id=pet_id)


@pets.patch("/{pet_id}", response=responses({200: PetOut}), summary="Change a pet")
def pet_update(request: HttpRequest, pet_id: int, payload: PetUpdateIn) -> Pet:
    user = owner(request)
    pet = pet_selectors.pet_get(user=user, pet_id=pet_id, role=Role.MEMBER)  # the path's object first: 404 first
    data = payload.model_dump(exclude_unset=True)
    if "beacon_id" in data:
        data["beacon"] = _beacon_ref(user, data.pop("beacon_id"))
    return pet_services.pet_update(pet=pet, data=data)


@pets.delete("/{pet_id}", response=NO_CONTENT, summary="Remove a pet and its history")
def pet_delete(request: HttpRequest, pet_id: int) -> Status[None]:
    pet_services.pet_delete(pet=pet_selectors.pet_get(user=owner(request), pet_id=pet_id, role=Role.MEMBER))
    return Status(204, None)


@pets.get("/{pet_id}/allowance", response=responses({200: AllowanceOut}), summary="Eaten and left this period")
def pet_allowance(request: HttpRequest, pet_id: int) -> Any:
    return allowance_selectors.pet_allowance(pet=pet_selectors.pet_get(user=owner(request), pet_id=pet_id))


@pets.get("/{pet_id}/visits", response=responses({200: list[VisitOut]}), summary="A pet's visits")
@paginate
def pet_visits(request: HttpRequest, pet_id: int, period: Query[TimeRange]) -> Any:
    user = owner(request)
    return pet_selectors.visit_list(
        user=user, pet=pet_selectors.pet_get(user=user, pet_id=pet_id), **period.model_dump()
    )


@pets.get("/{pet_id}/feedings", response=responses({200: list[FeedEventOut]}), summary="A pet's feedings")
@paginate
def pet_feedings(request: HttpRequest, pet_id: int, period: Query[TimeRange]) -> Any:
    user = owner(request)
    pet = pet_selectors.pet_get(user=user, pet_id=pet_id)
    return pet_selectors.feed_event_list(user=user, pet=pet, **period.model_dump())


# -- schedules ----------------------------------------------------------------------
@schedules.get("", response=responses({200: list[ScheduleOut]}), summary="List my meal schedules")
@paginate
def schedule_list(request: HttpRequest, filters: Query[ScheduleFilter]) -> Any:
    return schedule_selectors.schedule_list(user=owner(request), **filters.model_dump())


@schedules.post("", response=responses({201: ScheduleOut}), summary="Add a meal schedule")
def schedule_create(request: HttpRequest, payload: ScheduleCreateIn) -> Status[Any]:
    user = owner(request)
    pet, feeder = _pet_ref(user, payload.pet_id), _feeder_ref(user, payload.feeder_id)
    fields = payload.model_dump(exclude={"pet_id", "feeder_id", "time_zone"})
    time_zone = payload.time_zone or pet.time_zone
    return Status(201, schedule_services.schedule_create(pet=pet, feeder=feeder, time_zone=time_zone, **fields))


@schedules.get("/{schedule_id}", response=responses({200: ScheduleOut}), summary="One meal schedule")
def schedule_read(request: HttpRequest, schedule_id: int) -> Any:
    return schedule_selectors.schedule_get(user=owner(request), schedule_id=schedule_id)


@schedules.patch("/{schedule_id}", response=responses({200: ScheduleOut}), summary="Change a meal schedule")
def schedule_update(request: HttpRequest, schedule_id: int, payload: ScheduleUpdateIn) -> Any:
    schedule = schedule_selectors.schedule_get(user=owner(request), schedule_id=schedule_id, role=Role.MEMBER)
    return schedule_services.schedule_update(schedule=schedule, data=payload.model_dump(exclude_unset=True))


@schedules.delete("/{schedule_id}", response=NO_CONTENT, summary="Remove a meal schedule")
def schedule_delete(request: HttpRequest, schedule_id: int) -> Status[None]:
    schedule_services.schedule_delete(
        schedule=schedule_selectors.schedule_get(user=owner(request), schedule_id=schedule_id, role=Role.MEMBER)
    )
    return Status(204, None)


# -- commands --------------------------------------------------------------------------
@commands.get("", response=responses({200: list[CommandOut]}), summary="Feeding commands, newest first")
@paginate
def command_list(request: HttpRequest, filters: Query[CommandFilter]) -> Any:
    return command_selectors.command_list(user=owner(request), **filters.model_dump())


@commands.get("/{command_id}", response=responses({200: CommandOut}), summary="One command and its status")
def command_read(request: HttpRequest, command_id: int) -> Any:
    return command_selectors.command_get(user=owner(request), command_id=command_id)
