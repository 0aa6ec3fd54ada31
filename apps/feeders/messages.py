"""Handlers of the feeder protocol (messages in protocol.py). Each parses nothing
and decides nothing: it calls one service or selector and answers."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from apps.api.messages import ANYONE, DEVICES, OWNERS, Caller, CallerKind, Context, MessageError, registry
from apps.api.messages.dispatch import Error, run_plain
from apps.api.messages.socket import CLOSE_UNAUTHENTICATED
from apps.feeders import events
from apps.feeders.errors import InvalidReference
from apps.feeders.models import FeedCommand, Feeder, FeedSource, Pet
from apps.feeders.principals import caller_feeder, caller_owner
from apps.feeders.protocol import (
    Ack,
    CommandResult,
    CommandStatus,
    ConfigUpdate,
    Fed,
    FedRecorded,
    FeedDecision,
    FeederFeed,
    FeederStatus,
    FeedNow,
    GetFeederStatus,
    Heartbeat,
    Hello,
    MayFeed,
    Pair,
    Paired,
    ScheduleAck,
    ScheduleSync,
    SlotSkip,
    Visit,
    VisitRecorded,
    Welcome,
)
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.selectors import pets as pet_selectors
from apps.feeders.services import commands as command_services
from apps.feeders.services import devices as device_services
from apps.feeders.services import offline as offline_services
from apps.feeders.services import pets as pet_services
from apps.feeders.services import presence as presence_services
from apps.feeders.services.offline import ScheduleAcked
from apps.feeders.services.slots_fed import SlotFed
from apps.households.roles import Role
from apps.infra.aio import Gather

if TYPE_CHECKING:
    from apps.accounts.models import User

for to_device in (FeedNow, ConfigUpdate, ScheduleSync, SlotSkip):
    registry.push(to_device, routes=("device",))
for to_owner in (FeederStatus, VisitRecorded, FedRecorded, CommandStatus):
    registry.push(to_owner, routes=("app",))
registry.push(Error, routes=("device", "app"))


def _feeder(context: Context) -> Feeder:
    return caller_feeder(context.caller)  # authorize() let only devices in


def _feeder_held(context: Context) -> Feeder:
    """The feeder row the socket read at sign-in, else read now. Only for a handler whose write
    checks the row is still there (the Hello batch does): the row is as old as the connection,
    but for what this socket's Hello and Heartbeat wrote on it (the clock's offset among them)."""
    held = context.held
    if isinstance(held, Feeder) and held.pk == context.caller.id:
        return held
    return _feeder(context)


async def _feeder_held_now(context: Context) -> Feeder:
    """_feeder_held, for an async handler."""
    held = context.held
    if isinstance(held, Feeder) and held.pk == context.caller.id:
        return held
    return await run_plain(_feeder, context)


def _user(context: Context) -> User:
    return caller_owner(context.caller)  # authorize() let only owners in


# -- pairing -------------------------------------------------------------------------------
@registry.handler(Pair, replies=Paired, callers=ANYONE, routes=("http", "device"))
def pair(message: Pair, context: Context) -> Paired:
    if context.route != "http" and context.caller.kind is not CallerKind.ANONYMOUS:
        raise MessageError("already_authenticated", "This socket is authenticated already.", status=409)
    feeder, device_token, token = device_services.feeder_pair(code=message.code, mac=message.mac, client=context.client)
    context.sign_in(Caller(CallerKind.DEVICE, id=feeder.pk, credential_id=device_token.pk))
    return Paired(feeder_id=feeder.pk, token=token)


# -- devices -----------------------------------------------------------------------------------
# A fleet signing in at once: the Hellos that arrive together are written, and their schedules
# read, by one call in one pool thread.
_hellos: Gather[Feeder, ScheduleSync | None] = Gather(functools.partial(run_plain, presence_services.hellos_record))


@registry.handler(Hello, replies=Welcome, callers=DEVICES)
async def hello(message: Hello, context: Context) -> Welcome:
    feeder = presence_services.hello_note(
        feeder=await _feeder_held_now(context), firmware=message.firmware, ip=message.ip,
        capabilities=message.capabilities, device_time=message.device_time,
    )  # fmt: skip
    sync = await _hellos.submit(feeder)
    if sync is not None:
        context.push(sync)  # after Welcome, on this socket
    return Welcome(
        feeder_id=feeder.pk,
        heartbeat_interval=settings.FEEDER_HEARTBEAT_INTERVAL,
        offline_after=settings.FEEDER_OFFLINE_AFTER,
    )


@registry.handler(Heartbeat, replies=Ack, callers=DEVICES)
def heartbeat(message: Heartbeat, context: Context) -> Ack:
    # A long-lived socket re-checks its token here: rotated past its overlap, or revoked.
    token_id = context.caller.credential_id
    if token_id is None or not device_selectors.device_token_is_live(token_id=token_id):
        raise MessageError(
            "unauthenticated", "This device token is no longer valid.", status=401, close=CLOSE_UNAUTHENTICATED
        )
    presence_services.feeder_heartbeat(  # locks the row: 404 once removed
        feeder=_feeder_held(context), food_level_percent=message.food_level_percent, signal_dbm=message.signal_dbm,
        device_time=message.device_time,
    )  # fmt: skip
    return Ack()


@registry.handler(Visit, replies=Ack, callers=DEVICES)
def visit(message: Visit, context: Context) -> Ack:
    presence_services.visit_record(feeder=_feeder(context), beacon_mac=message.beacon_mac, seen_at=message.seen_at)
    return Ack()


@registry.handler(MayFeed, replies=FeedDecision, callers=DEVICES, safe=True)
def may_feed(message: MayFeed, context: Context) -> FeedDecision:
    pet, decision = pet_services.feeder_may_feed(
        feeder=_feeder(context), beacon_mac=message.beacon_mac, grams=message.grams
    )
    if pet is None or decision is None:  # someone else's cat, or a tag nobody wears
        return FeedDecision(allowed=False, grams=0, eaten_grams=0, remaining_grams=0, pet_id=None, reason="unknown_tag")
    return FeedDecision(
        allowed=decision.allowed, grams=decision.grams, eaten_grams=decision.eaten_grams,
        remaining_grams=decision.remaining_grams, pet_id=pet.pk, reason=decision.reason,
    )  # fmt: skip


# A fleet back from an outage uploads its queues at once: the uploads that arrive together on this
# process are recorded by one call in one pool thread, not each in a thread of its own.
_slots_fed: Gather[SlotFed, FeedCommand] = Gather(functools.partial(run_plain, offline_services.slots_fed_record))


@registry.handler(Fed, replies=Ack, callers=DEVICES)
async def fed(message: Fed, context: Context) -> Ack:
    if message.slot is not None:  # a scheduled meal served on the device's own
        upload = offline_services.slot_fed(
            feeder=await _feeder_held_now(context),
            slot=message.slot,
            grams=message.grams,
            event_id=message.event_id,
            fed_at=message.fed_at,
        )
        await _slots_fed.submit(upload)  # a removed feeder's schedules went with it: InvalidReference
    elif message.beacon_mac is not None:
        await run_plain(_fed_by_tag, message, message.beacon_mac, context)
    return Ack()


def _fed_by_tag(message: Fed, beacon_mac: str, context: Context) -> None:
    pet_services.feeder_fed(
        feeder=_feeder(context), beacon_mac=beacon_mac, grams=message.grams, event_id=message.event_id,
        fed_at=message.fed_at, offline=message.local,
    )  # fmt: skip


_schedule_acks: Gather[ScheduleAcked, None] = Gather(
    functools.partial(run_plain, offline_services.schedule_acks_record)
)


@registry.handler(ScheduleAck, replies=Ack, callers=DEVICES)
async def schedule_ack(message: ScheduleAck, context: Context) -> Ack:
    ack = ScheduleAcked(feeder=await _feeder_held_now(context), version=message.version, now=timezone.now())
    await _schedule_acks.submit(ack)  # with the others that arrive meanwhile (a fleet back at once)
    return Ack()


@registry.handler(CommandResult, replies=Ack, callers=DEVICES)
def command_result(message: CommandResult, context: Context) -> Ack:
    command_services.feed_command_complete(
        feeder=_feeder(context), command_id=message.command_id, done=message.status == "done",
        grams_dispensed=message.grams_dispensed, error=message.error,
    )  # fmt: skip
    return Ack()


# -- owners ---------------------------------------------------------------------------------
def _feeder_ref(context: Context, feeder_id: int, role: Role = Role.VIEWER) -> Feeder:
    try:
        return device_selectors.feeder_get(user=_user(context), feeder_id=feeder_id, role=role)
    except Http404:
        raise InvalidReference("feeder_id", "feeder") from None


def _pet_ref(context: Context, pet_id: int | None) -> Pet | None:
    if pet_id is None:
        return None
    try:
        return pet_selectors.pet_get(user=_user(context), pet_id=pet_id, role=Role.MEMBER)  # to feed it
    except Http404:
        raise InvalidReference("pet_id", "pet") from None


@registry.handler(GetFeederStatus, replies=FeederStatus, callers=OWNERS, safe=True)
def get_feeder_status(message: GetFeederStatus, context: Context) -> FeederStatus:
    return events.feeder_status(_feeder_ref(context, message.feeder_id))


@registry.handler(FeederFeed, replies=CommandStatus, callers=OWNERS)
def feeder_feed(message: FeederFeed, context: Context) -> CommandStatus:
    feeder, pet = _feeder_ref(context, message.feeder_id, Role.MEMBER), _pet_ref(context, message.pet_id)
    command = command_services.feed_command_create(
        feeder=feeder, pet=pet, grams=message.grams, source=FeedSource.OWNER, ordered_by=_user(context)
    )
    return events.command_status(command)
