"""The feeder protocol's messages (handlers are in messages.py).

Device -> server: Pair, Hello, Heartbeat, Visit, MayFeed, Fed, CommandResult, ScheduleAck.
Server -> device: FeedNow, ConfigUpdate, ScheduleSync, SlotSkip.
Owner -> server: GetFeederStatus, FeederFeed.
Server -> owner: FeederStatus, VisitRecorded, FedRecorded, CommandStatus.

A device never names its feeder: it is the feeder its token belongs to.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from apps.api.messages import Message
from apps.api.types import MessageDatetime, QueryRowId, SafeText
from apps.feeders.models.feeding import MAX_PORTION_GRAMS
from apps.feeders.models.fields import MAC_INPUT_RE, normalize_mac
from apps.feeders.selectors.allowance import Refusal
from apps.feeders.slots import SLOT_PATTERN

MacAddress = Annotated[
    str, Field(pattern=MAC_INPUT_RE.pattern, examples=["AA:BB:CC:DD:EE:FF"]), AfterValidator(normalize_mac)
]
Grams = Annotated[int, Field(ge=1, le=MAX_PORTION_GRAMS)]
Id = QueryRowId  # lax: a typed message may come in a query string
EventId = Annotated[SafeText, Field(min_length=1, max_length=64)]
SlotKey = Annotated[str, Field(pattern=SLOT_PATTERN, max_length=40, examples=["12.0@2026-12-07"])]
Capability = Annotated[SafeText, Field(min_length=1, max_length=32, examples=["local_schedule"])]
DeviceTime = Annotated[
    MessageDatetime | None,
    Field(description="The device's own clock when it sent this (the server measures its offset from it)."),
]


def _ip(value: str) -> str:
    return str(ipaddress.ip_address(value))


IpAddress = Annotated[str, Field(max_length=45, examples=["192.168.1.20"]), AfterValidator(_ip)]


# -- pairing ---------------------------------------------------------------------------
class Pair(Message):
    """A new device presents the pairing code its owner got, with its own MAC address."""

    code: SafeText = Field(min_length=4, max_length=16, examples=["K7QM-3XPA"])
    mac: MacAddress


class Paired(Message):
    """The device's token: shown this once, keep it. The socket is now authenticated."""

    feeder_id: int
    token: str


# -- device -> server --------------------------------------------------------------------
class Hello(Message):
    """First message after authenticating: what the device runs and where."""

    firmware: SafeText = Field(min_length=1, max_length=32)
    ip: IpAddress | None = None
    capabilities: list[Capability] = Field(
        default_factory=list,
        max_length=16,
        description='What the device can do beyond the base protocol: "local_schedule" (it keeps its meal '
        "schedule and serves it when it cannot reach the server). Unknown ones are ignored.",
    )
    device_time: DeviceTime = None


class Welcome(Message):
    """The server's settings for this device."""

    feeder_id: int
    heartbeat_interval: int = Field(description="Seconds between heartbeats.")
    offline_after: int = Field(description="Seconds of silence after which the feeder counts as offline.")


class Heartbeat(Message):
    """Sent every heartbeat_interval seconds."""

    food_level_percent: int | None = Field(None, ge=0, le=100)
    signal_dbm: int | None = Field(None, ge=-127, le=0)
    device_time: DeviceTime = None


class Ack(Message):
    """Received and recorded."""


class Visit(Message):
    """A collar tag came to the bowl (`seen_at`: when, by the device's clock, for one queued offline)."""

    beacon_mac: MacAddress
    seen_at: MessageDatetime | None = None


class MayFeed(Message):
    """May the pet wearing this tag eat now, and how much (default: what is left)?"""

    beacon_mac: MacAddress
    grams: Grams | None = None


class FeedDecision(Message):
    """Whether to open, and how much to dispense. An unknown tag is never allowed."""

    allowed: bool
    grams: int
    eaten_grams: int
    remaining_grams: int
    pet_id: int | None
    reason: Refusal | None = Field(
        None,
        description=(
            "Why not, when not allowed: unknown_tag (a tag no pet of this feeder's household wears), "
            "not_allowed_at_feeder (the pet is not on this feeder's list of pets), "
            "allowance_exceeded (more than what is left of the pet's allowance this period)."
        ),
    )


class Fed(Message):
    """Food was dispensed. `event_id` is the device's own: a repeat changes nothing.

    A scheduled meal the device served on its own names its `slot` (with `local: true`) instead of a
    collar tag: the server records it once per slot, whoever served it, and never sends that slot.
    """

    beacon_mac: MacAddress | None = None
    grams: Grams
    event_id: EventId
    slot: SlotKey | None = Field(None, description="The slot key of the scheduled meal served (see ScheduleSync).")
    fed_at: MessageDatetime | None = Field(None, description="When, by the device's clock (default: now).")
    local: bool = Field(False, description="Served on the device's own, without an order from the server.")

    @model_validator(mode="after")
    def _names_what_was_fed(self) -> Fed:
        if (self.beacon_mac is None) == (self.slot is None):
            raise ValueError("give either beacon_mac (a pet at the bowl) or slot (a scheduled meal)")
        if self.slot is not None and not self.local:
            raise ValueError(
                "a slot is reported only when served locally (local: true); a FeedNow gets a CommandResult"
            )
        return self


class ScheduleAck(Message):
    """The device holds this ScheduleSync version, and has sent everything it queued before it."""

    version: int = Field(ge=0, le=2**63 - 1)


class CommandResult(Message):
    """What became of a FeedNow. A repeat changes nothing."""

    command_id: Id
    status: Literal["done", "failed"]
    grams_dispensed: int = Field(0, ge=0, le=MAX_PORTION_GRAMS)
    error: SafeText = Field("", max_length=200)


# -- server -> device -------------------------------------------------------------------------
class FeedNow(Message):
    """Dispense `grams` now. A command id seen before is a repeat: do nothing, answer again."""

    command_id: int
    grams: int
    pet_id: int | None
    slot: str | None = Field(None, description="A scheduled meal's slot key: served already, it is not served again.")


class SlotSkip(Message):
    """Do not serve this slot on your own: the server decided against it (it would exceed the pet's allowance)."""

    slot: str = Field(examples=["12.0@2026-12-07"])
    reason: Literal["allowance_exceeded"]


class ScheduledMeal(Message):
    """One meal of a schedule: `time` on `days` in `time_zone`; its slot on a day is `<key>@<local date>`."""

    key: str = Field(examples=["12.0"])
    time: str = Field(examples=["07:30"], description="Local time of day, HH:MM.")
    days: list[int] = Field(description="ISO days of the week, 1 = Monday … 7 = Sunday.")
    grams: int
    pet_id: int
    time_zone: str


class ScheduleSync(Message):
    """The feeder's whole meal schedule, sent after Welcome and after every change (an older version is stale)."""

    version: int
    meals: list[ScheduledMeal]
    local_grace: int = Field(description="Seconds after a slot without a FeedNow before the device serves it itself.")


class ConfigUpdate(Message):
    """New settings; a `device_token` replaces the current one (the old one works a little longer)."""

    device_token: str | None = None
    heartbeat_interval: int | None = None


# -- owners ----------------------------------------------------------------------------------
class GetFeederStatus(Message):
    """One of my feeders, now."""

    feeder_id: Id


class FeederFeed(Message):
    """Feed now: the feeder dispenses `grams` (for `pet_id`, within its allowance)."""

    feeder_id: Id
    grams: Grams
    pet_id: Id | None = None


class FeederStatus(Message):
    """A feeder's state: sent when it changes (online, offline, firmware, food level)."""

    feeder_id: int
    online: bool
    last_seen_at: dt.datetime | None
    food_level_percent: int | None
    signal_dbm: int | None
    firmware_version: str


class VisitRecorded(Message):
    """A collar tag was seen at one of my feeders."""

    feeder_id: int
    pet_id: int | None
    beacon_mac: str
    seen_at: dt.datetime


class Person(BaseModel):
    """A member of the household, as the others read them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    name: str


class FedRecorded(Message):
    """Food was dispensed at one of my feeders."""

    feeder_id: int
    pet_id: int | None
    grams: int
    source: str
    fed_at: dt.datetime
    ordered_by: Person | None = Field(
        None, description="Who ordered it (feed now, Home Assistant); null for a meal or the device's own."
    )
    offline: bool = Field(False, description="Dispensed by the feeder on its own while it could not reach us.")


class CommandStatus(Message):
    """Where a feed command stands: pending, sent, done or failed."""

    command_id: int
    feeder_id: int
    status: str
    grams: int
    grams_dispensed: int | None
    error: str
