"""What the feeders domain tells sockets, always after commit (publish.group_*).

Members hear about their households' feeders only: every event goes to the group of
the feeder's household, which each member's sockets join. Devices hear about their own
feeder only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from apps.api.messages import Message, device_group
from apps.api.messages.publish import group_event, group_events_now, group_push, group_pushes
from apps.feeders.models import FeedCommand, Feeder, FeedEvent, MealSchedule, Visit
from apps.feeders.protocol import (
    CommandStatus,
    ConfigUpdate,
    FedRecorded,
    FeederStatus,
    Person,
    ScheduledMeal,
    ScheduleSync,
    SlotSkip,
    VisitRecorded,
)
from apps.feeders.slots import meal_key
from apps.households.groups import household_push

COMMAND = "feeder.command"  # a FeedCommand to send: the socket reads and marks it first
REVOKE = "device.revoke"  # these tokens are dead: sockets using them close
CATALOG = "catalog.changed"  # a household's feeders, pets or schedules were added, changed or removed


def catalog_group(household_id: int) -> str:
    """Listeners that mirror a household's feeders, pets and schedules (the Home Assistant bridge).

    A group of its own, not the household's: browser sockets have no handler for this event.
    """
    return f"catalog-{household_id}"


def feeder_status(feeder: Feeder) -> FeederStatus:
    return FeederStatus(
        feeder_id=feeder.pk, online=feeder.is_online, last_seen_at=feeder.last_seen_at,
        food_level_percent=feeder.food_level_percent, signal_dbm=feeder.signal_dbm,
        firmware_version=feeder.firmware_version,
    )  # fmt: skip


def command_status(command: FeedCommand) -> CommandStatus:
    return CommandStatus(
        command_id=command.pk, feeder_id=command.feeder_id, status=command.status, grams=command.grams,
        grams_dispensed=command.grams_dispensed, error=command.error,
    )  # fmt: skip


def _after_commit(pairs: list[tuple[str, dict[str, Any]]]) -> None:
    """Send the (group, event) pairs, in order, in one channel-layer call once the transaction commits."""
    if pairs:
        transaction.on_commit(lambda: group_events_now(pairs), robust=True)


def feeder_changed(feeder: Feeder) -> None:
    _after_commit([household_push(feeder.household_id, feeder_status(feeder))])


def feeders_changed(feeders: list[Feeder]) -> None:
    """feeder_changed of each, in one channel-layer call after commit (a batch of sign-ins)."""
    _after_commit([household_push(feeder.household_id, feeder_status(feeder)) for feeder in feeders])


def catalog_changed(household_id: int) -> None:
    group_event(catalog_group(household_id), {"type": CATALOG, "household_id": household_id})


def visit_recorded(visit: Visit, *, household_id: int) -> None:
    message = VisitRecorded(
        feeder_id=visit.feeder_id, pet_id=visit.pet_id, beacon_mac=visit.beacon_mac, seen_at=visit.seen_at
    )
    _after_commit([household_push(household_id, message)])


def fed_message(event: FeedEvent) -> FedRecorded:
    who = event.ordered_by if event.ordered_by_id is not None else None  # no query for the unordered
    return FedRecorded(
        feeder_id=event.feeder_id, pet_id=event.pet_id, grams=event.grams, source=event.source, fed_at=event.fed_at,
        ordered_by=None if who is None else Person(id=who.pk, name=who.display_name), offline=event.offline,
    )  # fmt: skip


def fed_recorded(event: FeedEvent, *, household_id: int) -> None:
    _after_commit([household_push(household_id, fed_message(event))])


def command_changed(command: FeedCommand, *, household_id: int) -> None:
    _after_commit([household_push(household_id, command_status(command))])


def command_completed(command: FeedCommand, *, fed: FeedEvent | None, household_id: int) -> None:
    """A device's result: its CommandStatus and the feeding it recorded, in one send after commit."""
    commands_completed([(command, fed)], household_id=household_id)


def commands_completed(results: list[tuple[FeedCommand, FeedEvent | None]], *, household_id: int) -> None:
    """command_completed of many results, in one send after commit."""
    messages: list[Message] = []
    for command, fed in results:
        messages.append(command_status(command))
        if fed is not None:
            messages.append(fed_message(fed))
    _after_commit([household_push(household_id, message) for message in messages])


def command_to_device(command: FeedCommand) -> None:
    group_event(device_group(command.feeder_id), {"type": COMMAND, "command_id": command.pk})


def commands_to_device_now(commands: list[FeedCommand], *, resend: bool = False) -> None:
    """Push commands already marked sent: each socket sends its FeedNow as is, without a query.

    Sent at once, raising if the channel layer is down (the delivery task fails;
    the reconciler sends again). `resend`: the reconciler's second try, which a
    socket sends even if it sent it already. Owners hear CommandStatus in the same loop.
    """
    pairs = []
    for c in commands:
        feed_now = {"command_id": c.pk, "grams": c.grams, "pet_id": c.pet_id, "slot": c.slot_key}
        event = {"type": COMMAND, "command_id": c.pk, "resend": resend, "feed_now": feed_now}
        pairs.append((device_group(c.feeder_id), event))
        pairs.append(household_push(c.feeder.household_id, command_status(c)))
    group_events_now(pairs)


def tokens_revoked(feeder_id: int, token_ids: list[int]) -> None:
    group_event(device_group(feeder_id), {"type": REVOKE, "token_ids": token_ids})


def config_to_device(feeder_id: int, config: ConfigUpdate) -> None:
    group_push(device_group(feeder_id), config)


def schedule_sync(version: int, schedules: list[MealSchedule]) -> ScheduleSync:
    """A feeder's whole schedule, one entry per meal of the day (its key names its slots)."""
    meals = [
        ScheduledMeal(
            key=meal_key(schedule.pk, n),
            time=time,
            days=list(schedule.days_of_week),
            grams=schedule.grams,
            pet_id=schedule.pet_id,
            time_zone=schedule.time_zone,
        )  # fmt: skip
        for schedule in schedules
        for n, time in enumerate(sorted(schedule.times))
    ]
    return ScheduleSync(version=version, meals=meals, local_grace=settings.MEAL_LOCAL_GRACE)


def schedule_to_device(feeder_id: int, sync: ScheduleSync) -> None:
    """After commit: two edits committed in one order may arrive in the other; the device keeps the higher version."""
    group_push(device_group(feeder_id), sync)


def slots_skipped(commands: list[FeedCommand]) -> None:
    """After commit: slots refused over the allowance, told to their feeders so that none serves them itself."""
    pushes: list[tuple[str, Message]] = [
        (device_group(c.feeder_id), SlotSkip(slot=c.slot_key, reason="allowance_exceeded"))
        for c in commands
        if c.slot_key is not None
    ]
    if pushes:
        group_pushes(pushes)
