"""A device's connection and what it reports: online and offline, hello, heartbeats, visits."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.feeders import events
from apps.feeders.models import OPEN_COMMAND, FeedCommand, Feeder, Visit
from apps.feeders.selectors.pets import pet_for_beacon
from apps.feeders.services.commands import feed_command_send, feeder_commands_expire
from apps.infra.db import lock_or_404


def feeder_connect(*, feeder: Feeder, connection_id: str, now: dt.datetime | None = None) -> list[FeedCommand]:
    """The device's socket is open: it is online, and gets every command not yet done.

    Returns the pending and sent commands, marked sent, for the socket to send
    (each once per connection; the device ignores a command id it has done).
    """
    now = now or timezone.now()
    with transaction.atomic():
        Feeder.objects.filter(pk=feeder.pk).update(is_online=True, connection_id=connection_id, last_seen_at=now)
        feeder.refresh_from_db()
        events.feeder_changed(feeder)
        feeder_commands_expire(feeder=feeder, now=now)  # only the still-valid ones go out
        open_ids = FeedCommand.objects.filter(feeder=feeder, status__in=OPEN_COMMAND).values_list("pk", flat=True)
        commands = [c for pk in list(open_ids) if (c := feed_command_send(feeder=feeder, command_id=pk, now=now))]
    return commands


def feeder_disconnect(*, feeder: Feeder, connection_id: str) -> None:
    """The socket closed: offline, unless a newer socket of the same feeder is open."""
    with transaction.atomic():
        gone = Feeder.objects.filter(pk=feeder.pk, connection_id=connection_id).update(
            is_online=False, connection_id=""
        )
        if gone:
            feeder.refresh_from_db()
            events.feeder_changed(feeder)


def feeder_hello(*, feeder: Feeder, firmware: str, ip: str | None, now: dt.datetime | None = None) -> Feeder:
    with transaction.atomic():
        feeder.firmware_version, feeder.last_ip, feeder.last_seen_at = firmware, ip, now or timezone.now()
        lock_or_404(feeder)  # its owner removed it while the device was connected
        feeder.save(update_fields=["firmware_version", "last_ip", "last_seen_at", "updated_at"])
        events.feeder_changed(feeder)
    return feeder


def feeder_heartbeat(
    *, feeder: Feeder, food_level_percent: int | None, signal_dbm: int | None, now: dt.datetime | None = None
) -> Feeder:
    with transaction.atomic():
        changed = food_level_percent != feeder.food_level_percent
        feeder.food_level_percent, feeder.signal_dbm = food_level_percent, signal_dbm
        feeder.last_seen_at = now or timezone.now()
        lock_or_404(feeder)
        feeder.save(update_fields=["food_level_percent", "signal_dbm", "last_seen_at", "updated_at"])
        if changed:
            events.feeder_changed(feeder)
    return feeder


def visit_record(*, feeder: Feeder, beacon_mac: str, now: dt.datetime | None = None) -> Visit:
    """A tag seen at the bowl; a tag of nobody we know is recorded without a pet."""
    pet = pet_for_beacon(feeder=feeder, beacon_mac=beacon_mac)
    with transaction.atomic():
        visit = Visit.objects.create(feeder=feeder, pet=pet, beacon_mac=beacon_mac, seen_at=now or timezone.now())
        events.visit_recorded(visit, owner_id=feeder.owner_id)
    return visit


def feeders_offline_detect(*, now: dt.datetime | None = None) -> int:
    """Feeders still marked online whose socket went silent without a close (a web process died).

    The socket's own watchdog closes a silent device after FEEDER_OFFLINE_AFTER;
    twice that and nothing closed it: nobody holds the socket any more.
    """
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=2 * settings.FEEDER_OFFLINE_AFTER)
    stale = list(Feeder.objects.filter(is_online=True, last_seen_at__lt=cutoff))
    with transaction.atomic():
        for feeder in stale:
            Feeder.objects.filter(pk=feeder.pk, connection_id=feeder.connection_id).update(
                is_online=False, connection_id=""
            )
            feeder.is_online = False
            events.feeder_changed(feeder)
    return len(stale)
