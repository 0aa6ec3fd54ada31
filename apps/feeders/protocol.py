"""The feeder protocol's messages (handlers are in messages.py).

Device -> server: Pair, Hello, Heartbeat, Visit, MayFeed, Fed, CommandResult.
Server -> device: FeedNow, ConfigUpdate.
Owner -> server: GetFeederStatus, FeederFeed.
Server -> owner: FeederStatus, VisitRecorded, FedRecorded, CommandStatus.

A device never names its feeder: it is the feeder its token belongs to.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from apps.api.messages import Message
from apps.api.types import QueryRowId, SafeText
from apps.feeders.models.feeding import MAX_PORTION_GRAMS
from apps.feeders.models.fields import MAC_INPUT_RE, normalize_mac
from apps.feeders.selectors.allowance import Refusal

MacAddress = Annotated[
    str, Field(pattern=MAC_INPUT_RE.pattern, examples=["AA:BB:CC:DD:EE:FF"]), AfterValidator(normalize_mac)
]
Grams = Annotated[int, Field(ge=1, le=MAX_PORTION_GRAMS)]
Id = QueryRowId  # lax: a typed message may come in a query string
EventId = Annotated[SafeText, Field(min_length=1, max_length=64)]


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


class Welcome(Message):
    """The server's settings for this device."""

    feeder_id: int
    heartbeat_interval: int = Field(description="Seconds between heartbeats.")
    offline_after: int = Field(description="Seconds of silence after which the feeder counts as offline.")


class Heartbeat(Message):
    """Sent every heartbeat_interval seconds."""

    food_level_percent: int | None = Field(None, ge=0, le=100)
    signal_dbm: int | None = Field(None, ge=-127, le=0)


class Ack(Message):
    """Received and recorded."""


class Visit(Message):
    """A collar tag came to the bowl."""

    beacon_mac: MacAddress


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
    """Food was dispensed. `event_id` is the device's own: a repeat changes nothing."""

    beacon_mac: MacAddress
    grams: Grams
    event_id: EventId


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


class CommandStatus(Message):
    """Where a feed command stands: pending, sent, done or failed."""

    command_id: int
    feeder_id: int
    status: str
    grams: int
    grams_dispensed: int | None
    error: str
