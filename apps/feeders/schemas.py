"""API schemas: `<Entity><Action>In` for input, `<Entity>Out` for output.

Optional input fields default to None but are typed without None where the
column cannot be empty: an explicit null is then a 422, an absent field is
simply left alone (handlers dump with exclude_unset).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from ninja import Field, FilterSchema, Schema
from pydantic import AfterValidator, AliasChoices, BeforeValidator, PlainSerializer, WithJsonSchema, field_validator

from apps.api.types import (
    AwareDatetime,
    IsoDate,
    OutSchema,
    QueryRowId,
    RowId,
    SafeText,
    StrictBool,
    StrictFloat,
    StrictInt,
    TimeZone,
    optional,
)
from apps.feeders.models import CommandStatus, FeedSource
from apps.feeders.models.feeding import MAX_PORTION_GRAMS
from apps.feeders.models.fields import MAC_INPUT_RE, normalize_mac
from apps.feeders.models.pets import MAX_PERIOD_MINUTES

MAC_EXAMPLE = "AA:BB:CC:DD:EE:FF"
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _local_time(value: Any) -> Any:
    if isinstance(value, dt.time):
        return value
    if not isinstance(value, str) or not HHMM.match(value):
        raise ValueError("a local time of day HH:MM, e.g. 07:00")
    return dt.time.fromisoformat(value)


# The documented schema says exactly what is accepted, so clients (and
# schemathesis) can build valid requests from it alone.
MacAddress = Annotated[str, Field(pattern=MAC_INPUT_RE.pattern, examples=[MAC_EXAMPLE]), AfterValidator(normalize_mac)]
ClockTime = Annotated[str, Field(pattern=HHMM.pattern, examples=["07:30"], description="Local time, HH:MM.")]
# A local time of day as "HH:MM" both ways: JSON Schema's "time" format needs an offset.
LocalTime = Annotated[
    dt.time,
    BeforeValidator(_local_time),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": HHMM.pattern, "examples": ["07:00"]}),
]
Name = Annotated[SafeText, Field(min_length=1, max_length=100)]
Grams = Annotated[StrictInt, Field(ge=1, le=MAX_PORTION_GRAMS)]


class TimeRange(FilterSchema):
    since: AwareDatetime | None = Field(None, description="From this instant (inclusive).")
    until: AwareDatetime | None = Field(None, description="Until this instant (exclusive).")


class InHousehold(FilterSchema):
    household: QueryRowId | None = Field(
        None,
        description="One of my households. A list: only its rows (else every household's). A new row: it goes "
        "there (else to my first household, by membership). Not mine: 404; a viewer's: 403.",
    )


# -- feeders ---------------------------------------------------------------------
class FeederCreateIn(Schema):
    name: Name
    mac: MacAddress
    latitude: StrictFloat | None = Field(None, ge=-90, le=90)
    longitude: StrictFloat | None = Field(None, ge=-180, le=180)
    city: SafeText = Field("", max_length=100)
    country: SafeText = Field("", max_length=100)
    time_zone: TimeZone = "UTC"


class FeederUpdateIn(Schema):
    name: Name = optional()
    mac: MacAddress = optional()
    latitude: StrictFloat | None = Field(None, ge=-90, le=90)
    longitude: StrictFloat | None = Field(None, ge=-180, le=180)
    city: SafeText = optional(max_length=100)
    country: SafeText = optional(max_length=100)
    time_zone: TimeZone = optional()


class FeederOut(OutSchema):
    id: int
    household_id: int
    name: str
    mac: str
    latitude: float | None
    longitude: float | None
    city: str
    country: str
    time_zone: str
    firmware_version: str
    last_seen_at: dt.datetime | None
    last_ip: str | None
    food_level_percent: int | None
    is_online: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class FeederStatusOut(OutSchema):
    id: int
    is_online: bool
    last_seen_at: dt.datetime | None
    food_level_percent: int | None
    firmware_version: str
    last_ip: str | None


class FeederFilter(InHousehold):
    search: SafeText | None = Field(None, max_length=100, description="Part of the name or MAC address.")
    online: bool | None = None


class FeederPetsUpdateIn(Schema):
    pet_ids: list[RowId] = Field(
        max_length=1000,
        description="Every pet that may eat at this feeder; your other pets are kept off it. A pet added later "
        "may eat everywhere until taken off a list.",
    )


class FeederPetsOut(Schema):
    pet_ids: list[int] = Field(description="The pets that may eat at this feeder (by default, all of yours).")


# -- beacons ---------------------------------------------------------------------
class BeaconCreateIn(Schema):
    name: Name
    mac: MacAddress


class BeaconUpdateIn(Schema):
    name: Name = optional()
    mac: MacAddress = optional()


class BeaconOut(Schema):
    id: int
    household_id: int
    name: str
    mac: str
    pet_id: int | None = Field(None, description="The pet wearing this tag, if any.")
    created_at: dt.datetime

    @staticmethod
    def resolve_pet_id(beacon: Any) -> int | None:
        pet = getattr(beacon, "pet", None)
        return pet.id if pet is not None else None


class BeaconFilter(InHousehold):
    search: SafeText | None = Field(None, max_length=100)


# -- pets --------------------------------------------------------------------------
class PetCreateIn(Schema):
    name: Name
    beacon_id: RowId | None = Field(None, description="The collar tag the pet wears.")
    breed: SafeText = Field("", max_length=100)
    birth_date: IsoDate | None = None
    weight_grams: StrictInt | None = Field(None, ge=1, le=200_000)
    microchip_id: SafeText = Field("", max_length=32)
    allowance_grams: StrictInt = Field(80, ge=0, le=10_000, description="Grams allowed per period.")
    period_minutes: StrictInt = Field(1440, ge=1, le=MAX_PERIOD_MINUTES, description="Period length; 1440 = 24 h.")
    period_anchor: LocalTime = Field(dt.time(0, 0), description="Local time a period starts, HH:MM.")
    time_zone: TimeZone = "UTC"

    @field_validator("birth_date")
    @classmethod
    def not_in_the_future(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and value > dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1):
            raise ValueError("a birth date cannot be in the future")
        return value


class PetUpdateIn(PetCreateIn):
    name: Name = optional()
    breed: SafeText = optional(max_length=100)
    microchip_id: SafeText = optional(max_length=32)
    allowance_grams: StrictInt = optional(ge=0, le=10_000)
    period_minutes: StrictInt = optional(ge=1, le=MAX_PERIOD_MINUTES)
    period_anchor: LocalTime = optional()
    time_zone: TimeZone = optional()


class PetOut(OutSchema):
    id: int
    household_id: int
    name: str
    beacon_id: int | None
    breed: str
    birth_date: dt.date | None
    weight_grams: int | None
    microchip_id: str
    allowance_grams: int
    period_minutes: int
    period_anchor: LocalTime
    time_zone: str
    created_at: dt.datetime


class PetFilter(InHousehold):
    search: SafeText | None = Field(None, max_length=100)


class AllowanceOut(OutSchema):
    allowance_grams: int
    eaten_grams: int
    remaining_grams: int
    period_start: dt.datetime
    period_end: dt.datetime


# -- schedules --------------------------------------------------------------------
class _ScheduleFields(Schema):
    @field_validator("times", check_fields=False)
    @classmethod
    def sorted_times(cls, value: list[str] | None) -> list[str] | None:
        return sorted(set(value)) if value is not None else value

    @field_validator("days_of_week", check_fields=False)
    @classmethod
    def unique_days(cls, value: list[int] | None) -> list[int] | None:
        return sorted(set(value)) if value is not None else value


class ScheduleCreateIn(_ScheduleFields):
    pet_id: RowId
    feeder_id: RowId
    times: list[ClockTime] = Field(min_length=1, max_length=24)
    days_of_week: list[Annotated[StrictInt, Field(ge=1, le=7)]] = Field(
        [1, 2, 3, 4, 5, 6, 7], min_length=1, max_length=7, description="ISO days: 1 = Monday … 7 = Sunday."
    )
    grams: Grams
    time_zone: TimeZone | None = Field(None, description="Defaults to the pet's time zone.")
    enabled: StrictBool = True


class ScheduleUpdateIn(_ScheduleFields):
    times: list[ClockTime] = optional(min_length=1, max_length=24)
    days_of_week: list[Annotated[StrictInt, Field(ge=1, le=7)]] = optional(min_length=1, max_length=7)
    grams: Grams = optional()
    time_zone: TimeZone = optional()
    enabled: StrictBool = optional()


class ScheduleOut(OutSchema):
    id: int
    pet_id: int
    feeder_id: int
    times: list[str]
    days_of_week: list[int]
    grams: int
    time_zone: str
    enabled: bool
    next_run_at: dt.datetime | None
    created_at: dt.datetime


class ScheduleFilter(InHousehold):
    pet_id: QueryRowId | None = None
    feeder_id: QueryRowId | None = None
    enabled: bool | None = None


# -- history and commands ---------------------------------------------------------
class VisitOut(OutSchema):
    id: int
    feeder_id: int
    pet_id: int | None
    beacon_mac: str
    seen_at: dt.datetime


class PersonOut(OutSchema):
    """A member of the household, as the others read them."""

    id: int
    name: str = Field(
        validation_alias=AliasChoices("display_name", "name"), description="Their display name, else their address."
    )


ORDERED_BY = "Who ordered it (feed now, Home Assistant); null for a meal, the device's own, or a deleted account."


class FeedEventOut(OutSchema):
    id: int
    feeder_id: int
    pet_id: int | None
    grams: int
    source: FeedSource
    command_id: int | None
    event_id: str | None
    fed_at: dt.datetime
    ordered_by: PersonOut | None = Field(description=ORDERED_BY)
    offline: bool = Field(description="Dispensed by the feeder on its own, as scheduled, while it was offline.")
    clock_untrusted: bool = Field(description="The device's clock was off: fed_at is the meal's scheduled time.")


class FeedNowIn(Schema):
    grams: Grams
    pet_id: RowId | None = Field(None, description="The pet this portion is for; its allowance is checked.")


class CommandOut(OutSchema):
    id: int
    feeder_id: int
    pet_id: int | None
    grams: int
    source: FeedSource
    status: CommandStatus
    schedule_id: int | None
    slot_at: dt.datetime | None
    slot_key: str | None = Field(description="A scheduled meal's slot, as the feeder names it too.")
    local: bool = Field(description="Served by the feeder on its own, without an order from the server.")
    grams_dispensed: int | None
    attempts: int
    error: str
    ordered_by: PersonOut | None = Field(description=ORDERED_BY)
    created_at: dt.datetime
    sent_at: dt.datetime | None
    completed_at: dt.datetime | None


class CommandFilter(FilterSchema):
    feeder_id: QueryRowId | None = None
    status: CommandStatus | None = None


# -- pairing and device tokens ---------------------------------------------------------
class PairingCodeOut(Schema):
    code: str = Field(description="Give it to the device (Pair message) within 10 minutes; it works once.")
    expires_at: dt.datetime


class DeviceTokenOut(Schema):
    token: str = Field(description="The new device token, shown this once. An online device gets it by itself.")
    previous_valid_until: dt.datetime = Field(description="Until when the tokens it replaces still work.")
