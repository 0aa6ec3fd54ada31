"""A device's connection and what it reports: online and offline, hello, heartbeats, visits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from apps.feeders import events
from apps.feeders.models import OPEN_COMMAND, FeedCommand, Feeder, Visit
from apps.feeders.protocol import ScheduleSync
from apps.feeders.selectors.pets import pet_for_beacon
from apps.feeders.services.commands import feed_command_send, feeder_commands_expire
from apps.feeders.services.device_clock import clock_offset, device_time_correct
from apps.feeders.services.offline import local_meals_tell_later
from apps.feeders.services.schedule_sync import feeders_schedule_sync
from apps.infra.batch import value, write_together
from apps.infra.db import lock_or_404, rows_update, write_transaction

LOCAL_SCHEDULE = "local_schedule"  # the capability of a feeder that serves its schedule offline (offline.py)


def feeder_connect(*, feeder: Feeder, connection_id: str, now: dt.datetime | None = None) -> list[FeedCommand]:
    """The device's socket is open: it is online, and gets every command not yet done.

    Returns the pending and sent commands, marked sent, for the socket to send
    (each once per connection; the device ignores a command id it has done).
    The socket has joined the feeder's group before this: a command created
    after the batch's read reaches it as an event.
    """
    return value(feeders_connect([connect_note(feeder=feeder, connection_id=connection_id, now=now)])[0])


def connect_note(*, feeder: Feeder, connection_id: str, now: dt.datetime | None = None) -> Feeder:
    """feeder_connect's fields, set on the row for feeders_connect to write."""
    feeder.is_online, feeder.connection_id, feeder.last_seen_at = True, connection_id, now or timezone.now()
    return feeder


def feeders_connect(feeders: Sequence[Feeder]) -> list[list[FeedCommand] | BaseException]:
    """feeder_connect of sockets opened together (a fleet signing in at once after a restart): their
    online marks in one transaction; per socket, its commands to send, or its error."""
    results = write_together(_write_online, feeders)
    return [
        result if isinstance(result, BaseException) else _commands_to_send(feeder, result)
        for feeder, result in zip(feeders, results, strict=True)
    ]


def _commands_to_send(feeder: Feeder, open_ids: list[int]) -> list[FeedCommand] | BaseException:
    if not open_ids:
        return []
    now = feeder.last_seen_at or timezone.now()  # connect_note's time
    try:
        with write_transaction():
            feeder_commands_expire(feeder=feeder, now=now)  # only the still-valid ones go out
            return [c for pk in open_ids if (c := feed_command_send(feeder=feeder, command_id=pk, now=now))]
    except Exception as exc:  # noqa: BLE001 - this socket's own failure, not its batch's
        return exc


def _write_online(feeders: Sequence[Feeder]) -> list[list[int] | BaseException]:
    """Mark `feeders` online; the ids of each one's open commands."""
    # The last sign-in of a feeder wins (its connection_id is the socket that counts).
    latest = {feeder.pk: feeder for feeder in feeders}
    rows_update(list(latest.values()), ["is_online", "connection_id", "last_seen_at"])
    events.feeders_changed(list(latest.values()))
    open_ids: dict[int, list[int]] = {}
    found = FeedCommand.objects.filter(feeder_id__in=latest, status__in=OPEN_COMMAND).values_list("feeder_id", "pk")
    for feeder_id, pk in found:
        open_ids.setdefault(feeder_id, []).append(pk)
    return [open_ids.get(feeder.pk, []) for feeder in feeders]


def feeder_disconnect(*, feeder: Feeder, connection_id: str) -> None:
    """The socket closed: offline, unless a newer socket of the same feeder is open."""
    with write_transaction():
        gone = Feeder.objects.filter(pk=feeder.pk, connection_id=connection_id).update(
            is_online=False, connection_id=""
        )
        if gone:
            feeder.refresh_from_db()
            events.feeder_changed(feeder)


def feeder_hello(
    *, feeder: Feeder, firmware: str, ip: str | None, capabilities: Sequence[str] = (),
    device_time: dt.datetime | None = None, now: dt.datetime | None = None,
) -> Feeder:  # fmt: skip
    """What the device runs, what it can do (unknown capabilities are ignored) and how far off its clock is."""
    hello = hello_note(
        feeder=feeder, firmware=firmware, ip=ip, capabilities=capabilities, device_time=device_time, now=now
    )
    value(hellos_record([hello])[0])
    return feeder


def hello_note(
    *, feeder: Feeder, firmware: str, ip: str | None, capabilities: Sequence[str] = (),
    device_time: dt.datetime | None = None, now: dt.datetime | None = None,
) -> Feeder:  # fmt: skip
    """feeder_hello's fields, set on the row for hellos_record to write."""
    now = now or timezone.now()
    feeder.firmware_version, feeder.last_ip, feeder.last_seen_at, feeder.updated_at = firmware, ip, now, now
    feeder.local_schedule = LOCAL_SCHEDULE in capabilities
    feeder.clock_offset = clock_offset(device_time=device_time, now=now)  # None: not measured on this connection
    return feeder


def hellos_record(feeders: Sequence[Feeder]) -> list[ScheduleSync | None | BaseException]:
    """Hellos that arrived together (a fleet signing in at once), written in one transaction.

    Per hello: the schedule of a feeder that keeps its schedule (ScheduleSync, to send after Welcome),
    else None, or its error (Http404: the owner removed the feeder while it was connected).
    """
    results = write_together(_write_hellos, feeders)
    keeping = [
        feeder.pk for feeder, result in zip(feeders, results, strict=True) if result is None and feeder.local_schedule
    ]
    syncs = feeders_schedule_sync(feeder_ids=keeping) if keeping else {}
    return [
        result if isinstance(result, BaseException) else syncs.get(feeder.pk)
        for feeder, result in zip(feeders, results, strict=True)
    ]


def _write_hellos(feeders: Sequence[Feeder]) -> list[None | BaseException]:
    present = set(Feeder.objects.filter(pk__in=[f.pk for f in feeders]).values_list("pk", flat=True))
    found = {feeder.pk: feeder for feeder in feeders if feeder.pk in present}
    fields = ["firmware_version", "last_ip", "last_seen_at", "updated_at", "local_schedule", "clock_offset"]
    rows_update(list(found.values()), fields)
    events.feeders_changed(list(found.values()))
    # Not present: its owner removed it while the device was connected.
    return [None if feeder.pk in present else Http404("No Feeder matches the given query.") for feeder in feeders]


def feeder_heartbeat(
    *, feeder: Feeder, food_level_percent: int | None, signal_dbm: int | None, device_time: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Feeder:  # fmt: skip
    """A heartbeat also says the device has uploaded all it queued (it beats only once its queue is empty)."""
    now = now or timezone.now()
    fields = ["food_level_percent", "signal_dbm", "last_seen_at", "reported_at", "updated_at"]
    with write_transaction():
        changed = food_level_percent != feeder.food_level_percent
        feeder.food_level_percent, feeder.signal_dbm = food_level_percent, signal_dbm
        feeder.last_seen_at = feeder.reported_at = now
        if device_time is not None:
            feeder.clock_offset = clock_offset(device_time=device_time, now=now)
            fields.append("clock_offset")
        lock_or_404(feeder)
        feeder.save(update_fields=fields)
        if changed:
            events.feeder_changed(feeder)
    if feeder.local_schedule:
        local_meals_tell_later(feeder_ids=[feeder.pk], now=now)
    return feeder


def visit_record(
    *, feeder: Feeder, beacon_mac: str, seen_at: dt.datetime | None = None, now: dt.datetime | None = None
) -> Visit:
    """A tag seen at the bowl; a tag of nobody we know is recorded without a pet. `seen_at`: the device's
    time of a visit it queued offline, corrected by its clock's offset."""
    pet = pet_for_beacon(feeder=feeder, beacon_mac=beacon_mac)
    when = device_time_correct(feeder=feeder, reported=seen_at, now=now or timezone.now())
    with write_transaction():
        visit = Visit.objects.create(feeder=feeder, pet=pet, beacon_mac=beacon_mac, seen_at=when.at)
        events.visit_recorded(visit, household_id=feeder.household_id)
    return visit


def feeders_offline_detect(*, now: dt.datetime | None = None) -> int:
    """Feeders still marked online whose socket went silent without a close (a web process died).

    The socket's own watchdog closes a silent device after FEEDER_OFFLINE_AFTER;
    twice that and nothing closed it: nobody holds the socket any more.
    """
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=2 * settings.FEEDER_OFFLINE_AFTER)
    stale = list(Feeder.objects.filter(is_online=True, last_seen_at__lt=cutoff))
    with write_transaction():
        for feeder in stale:
            Feeder.objects.filter(pk=feeder.pk, connection_id=feeder.connection_id).update(
                is_online=False, connection_id=""
            )
            feeder.is_online = False
            events.feeder_changed(feeder)
    return len(stale)
