"""Writes. Every feeding and every order to feed passes the pet's allowance (selectors.pet_allowance)
with the pet row locked: `_allowance_hold`."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.selectors import user_email_verified
from apps.api.problems import Problem
from apps.feeders import events
from apps.feeders.clock import next_slot
from apps.feeders.errors import AllowanceExceeded, Conflict, InvalidReference, PairingFailed
from apps.feeders.models import (
    OPEN_COMMAND,
    Beacon,
    CommandStatus,
    DeviceToken,
    FeedCommand,
    Feeder,
    FeedEvent,
    FeedSource,
    MealSchedule,
    PairingCode,
    Pet,
    Visit,
)  # fmt: skip
from apps.feeders.protocol import ConfigUpdate
from apps.feeders.selectors import FeedDecision, pet_allowance, pet_for_beacon, pet_may_feed, token_hash
from catfeeder.db import lock_or_404

FEEDER_FIELDS = frozenset({"name", "mac", "latitude", "longitude", "city", "country", "time_zone"})
BEACON_FIELDS = frozenset({"name", "mac"})
PET_FIELDS = frozenset(
    {"name", "beacon", "breed", "birth_date", "weight_grams", "microchip_id", "allowance_grams",
     "period_minutes", "period_anchor", "time_zone"}
)  # fmt: skip
SCHEDULE_FIELDS = frozenset({"times", "days_of_week", "grams", "time_zone", "enabled"})


def _save(instance: models.Model, *, conflict: str, update_fields: list[str] | None = None) -> None:
    """Save, turning a uniqueness violation into a 409 that says what clashed.

    An update of a row deleted since it was read is a 404 (see lock_or_404).
    """
    try:
        with transaction.atomic():
            if update_fields is not None:
                lock_or_404(instance)
            instance.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise Conflict(conflict) from exc


def _apply(instance: models.Model, data: dict[str, Any], allowed: frozenset[str]) -> list[str]:
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(instance, name, value)
    return [*data, "updated_at"]


# -- feeders and beacons ----------------------------------------------------------
def feeder_create(*, owner: User, name: str, mac: str, **fields: Any) -> Feeder:
    feeder = Feeder(owner=owner, name=name, mac=mac)
    _apply(feeder, fields, FEEDER_FIELDS)
    _save(feeder, conflict=f"You already have a feeder with MAC address {mac}.")
    return feeder


def feeder_update(*, feeder: Feeder, data: dict[str, Any]) -> Feeder:
    fields = _apply(feeder, data, FEEDER_FIELDS)
    _save(feeder, conflict=f"You already have a feeder with MAC address {feeder.mac}.", update_fields=fields)
    return feeder


def feeder_delete(*, feeder: Feeder) -> None:
    feeder.delete()


def beacon_create(*, owner: User, name: str, mac: str) -> Beacon:
    beacon = Beacon(owner=owner, name=name, mac=mac)
    _save(beacon, conflict=f"You already have a collar tag with MAC address {mac}.")
    return beacon


def beacon_update(*, beacon: Beacon, data: dict[str, Any]) -> Beacon:
    fields = _apply(beacon, data, BEACON_FIELDS)
    _save(beacon, conflict=f"You already have a collar tag with MAC address {beacon.mac}.", update_fields=fields)
    return beacon


def beacon_delete(*, beacon: Beacon) -> None:
    beacon.delete()  # the pet that wore it keeps its history and loses only the tag


# -- pets ----------------------------------------------------------------------------
def _check_beacon(pet: Pet) -> None:
    if pet.beacon is not None and pet.beacon.owner_id != pet.owner_id:
        raise InvalidReference("beacon_id", "collar tag")


def pet_create(*, owner: User, name: str, **fields: Any) -> Pet:
    pet = Pet(owner=owner, name=name)
    _apply(pet, fields, PET_FIELDS)
    _check_beacon(pet)
    _save(pet, conflict="That collar tag is already worn by another pet.")
    return pet


def pet_update(*, pet: Pet, data: dict[str, Any]) -> Pet:
    fields = _apply(pet, data, PET_FIELDS)
    _check_beacon(pet)
    _save(pet, conflict="That collar tag is already worn by another pet.", update_fields=fields)
    return pet


def pet_delete(*, pet: Pet) -> None:
    pet.delete()


# -- meal schedules ---------------------------------------------------------------
def schedule_next_run(*, schedule: MealSchedule, after: dt.datetime) -> dt.datetime | None:
    if not schedule.enabled:
        return None
    times = [dt.time.fromisoformat(t) for t in schedule.times]
    return next_slot(after, tz=ZoneInfo(schedule.time_zone), times=times, days_of_week=set(schedule.days_of_week))


def schedule_create(
    *,
    pet: Pet,
    feeder: Feeder,
    times: list[str],
    days_of_week: list[int],
    grams: int,
    time_zone: str,
    enabled: bool = True,
    now: dt.datetime | None = None,
) -> MealSchedule:
    if feeder.owner_id != pet.owner_id:
        raise InvalidReference("feeder_id", "feeder")
    schedule = MealSchedule(
        pet=pet, feeder=feeder, times=times, days_of_week=days_of_week, grams=grams, time_zone=time_zone,
        enabled=enabled,
    )  # fmt: skip
    schedule.next_run_at = schedule_next_run(schedule=schedule, after=now or timezone.now())
    schedule.save()
    return schedule


def schedule_update(*, schedule: MealSchedule, data: dict[str, Any], now: dt.datetime | None = None) -> MealSchedule:
    from apps.feeders import meals  # meals builds on this module

    fields = _apply(schedule, data, SCHEDULE_FIELDS)
    with transaction.atomic():
        lock_or_404(schedule)  # deleted since it was read: a 404
        # Any change of when restarts from now: a slot already due is not replayed.
        schedule.next_run_at = schedule_next_run(schedule=schedule, after=now or timezone.now())
        schedule.save(update_fields=[*fields, "next_run_at"])
        if not schedule.enabled:
            meals.schedule_commands_cancel(schedule=schedule, now=now)
    return schedule


def schedule_delete(*, schedule: MealSchedule) -> None:
    from apps.feeders import meals

    with transaction.atomic():
        meals.schedule_commands_cancel(schedule=schedule)
        schedule.delete()


# -- feeding ----------------------------------------------------------------------
def _allowance_hold(*, pet: Pet, grams: int, at: dt.datetime, answering: FeedCommand | None = None) -> Pet:
    """Lock the pet row and check `grams` against its allowance; the locked pet, or AllowanceExceeded.

    Called inside the transaction that then writes the feeding or the command:
    every path that feeds a pet queues behind this lock, so none decides on a
    total another is about to change.
    """
    locked = Pet.objects.select_for_update().get(pk=pet.pk)
    allowance = pet_allowance(pet=locked, now=at, answering=answering)
    if not allowance.allows(grams):
        raise AllowanceExceeded(
            pet_name=locked.name, grams=grams, eaten=allowance.eaten_grams, promised=allowance.promised_grams,
            allowance=allowance.allowance_grams, period_end=allowance.period_end,
        )  # fmt: skip
    return locked


def pet_feed(
    *,
    pet: Pet,
    feeder: Feeder,
    grams: int,
    source: FeedSource,
    event_id: str | None = None,
    command: FeedCommand | None = None,
    at: dt.datetime | None = None,
) -> FeedEvent:
    """Record food given to a pet, within its allowance; never capped silently.

    The pet row is locked for the whole check-and-insert, so concurrent feeds
    of one pet (two feeders, a schedule and an owner) queue up behind each
    other and their total cannot exceed the allowance. A repeated `event_id`
    from the same feeder returns the first event and changes nothing.
    """
    if feeder.owner_id != pet.owner_id:
        raise InvalidReference("feeder_id", "feeder")
    at = at or timezone.now()
    with transaction.atomic():
        Pet.objects.select_for_update().get(pk=pet.pk)  # a repeated event, too, waits for the first
        if event_id is not None:
            repeated = FeedEvent.objects.filter(feeder=feeder, event_id=event_id).first()
            if repeated is not None:
                return repeated
        locked = _allowance_hold(pet=pet, grams=grams, at=at, answering=command)
        return FeedEvent.objects.create(
            pet=locked, feeder=feeder, grams=grams, source=source, event_id=event_id, command=command, fed_at=at
        )


def feed_command_create(
    *, feeder: Feeder, grams: int, source: FeedSource, pet: Pet | None = None, now: dt.datetime | None = None
) -> FeedCommand:
    """Order a feeder to dispense ("feed now").

    The command is a promise against the pet's allowance from now until it is
    answered: a second order while the feeder has not answered sees the first.
    """
    if pet is not None and pet.owner_id != feeder.owner_id:
        raise InvalidReference("pet_id", "pet")
    now = now or timezone.now()
    expires_at = now + dt.timedelta(seconds=settings.COMMAND_EXPIRE_AFTER)
    with transaction.atomic():
        if pet is not None:
            _allowance_hold(pet=pet, grams=grams, at=now)
        command = FeedCommand.objects.create(feeder=feeder, pet=pet, grams=grams, source=source, expires_at=expires_at)
        feed_command_deliver(command=command)
    return command


# -- pairing and device tokens ---------------------------------------------------------
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: read aloud, typed on a device
PAIRING_CODE_LENGTH = 8  # 30**8: about 39 bits, with 5 tries per code


def _normalise_code(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def pairing_code_create(*, feeder: Feeder, now: dt.datetime | None = None) -> tuple[PairingCode, str]:
    """A new single-use code for pairing a device to `feeder`; earlier unused codes stop working."""
    if not user_email_verified(user=feeder.owner):
        raise Problem(403, "Verify your e-mail address before pairing a device.", kind="email-unverified")
    now = now or timezone.now()
    code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))
    with transaction.atomic():
        PairingCode.objects.filter(feeder=feeder, used_at__isnull=True).delete()
        pairing = PairingCode.objects.create(
            feeder=feeder,
            code_hash=token_hash(code),
            expires_at=now + dt.timedelta(seconds=settings.PAIRING_CODE_TTL),
        )
    return pairing, f"{code[:4]}-{code[4:]}"


def feeder_pair(*, code: str, mac: str, now: dt.datetime | None = None) -> tuple[Feeder, DeviceToken, str]:
    """A device with `mac` presents `code`: it becomes the feeder and gets its token.

    Codes are looked up by the device's MAC, so a wrong code counts against
    that feeder's live code: after PAIRING_CODE_TRIES wrong ones it is dead.
    Pairing replaces the feeder's previous device: its tokens are revoked.
    """
    now = now or timezone.now()
    wanted = token_hash(_normalise_code(code))
    with transaction.atomic():
        live = list(
            PairingCode.objects.select_for_update()
            .select_related("feeder")
            .filter(feeder__mac=mac, used_at__isnull=True, expires_at__gt=now, attempts__lt=settings.PAIRING_CODE_TRIES)
        )
        match = next((p for p in live if hmac.compare_digest(p.code_hash, wanted)), None)
        if match is None:
            PairingCode.objects.filter(pk__in=[p.pk for p in live]).update(attempts=models.F("attempts") + 1)
        else:
            match.used_at = now
            match.save(update_fields=["used_at"])
            device_token_revoke(feeder=match.feeder, now=now)
            device_token, token = _device_token_create(feeder=match.feeder)
    if match is None:  # outside the block: the counted attempts must commit
        raise PairingFailed()
    return match.feeder, device_token, token


def _device_token_create(*, feeder: Feeder) -> tuple[DeviceToken, str]:
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    device_token = DeviceToken.objects.create(feeder=feeder, prefix=prefix, secret_hash=token_hash(secret))
    return device_token, f"cfd_{prefix}_{secret}"


@dataclass(frozen=True)
class RotatedToken:
    device_token: DeviceToken
    token: str  # the secret, shown once
    previous_valid_until: dt.datetime


def device_token_rotate(*, feeder: Feeder, now: dt.datetime | None = None) -> RotatedToken:
    """A new token for a paired feeder; the current ones work DEVICE_TOKEN_OVERLAP seconds more.

    The device gets the new token pushed as ConfigUpdate if it is online; the
    owner sees it once in the answer, to enter it by hand otherwise.
    """
    now = now or timezone.now()
    overlap_end = now + dt.timedelta(seconds=settings.DEVICE_TOKEN_OVERLAP)
    with transaction.atomic():
        live = DeviceToken.objects.select_for_update().filter(feeder=feeder, revoked_at__isnull=True)
        live = live.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))
        if not live.exists():
            raise Conflict("This feeder has no device paired: pair it first.")
        live.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=overlap_end)).update(
            expires_at=overlap_end
        )
        device_token, token = _device_token_create(feeder=feeder)
        events.config_to_device(feeder.pk, ConfigUpdate(device_token=token))
    return RotatedToken(device_token, token, overlap_end)


def device_token_revoke(*, feeder: Feeder, now: dt.datetime | None = None) -> int:
    """End every token of the feeder now; its open sockets close (within a second)."""
    with transaction.atomic():
        live = DeviceToken.objects.filter(feeder=feeder, revoked_at__isnull=True)
        token_ids = list(live.values_list("pk", flat=True))
        live.update(revoked_at=now or timezone.now())
        if token_ids:
            events.tokens_revoked(feeder.pk, token_ids)
    return len(token_ids)


# -- a device's connection and reports ------------------------------------------------------
def feeder_connect(*, feeder: Feeder, connection_id: str, now: dt.datetime | None = None) -> list[FeedCommand]:
    """The device's socket is open: it is online, and gets every command not yet done.

    Returns the pending and sent commands, marked sent, for the socket to send
    (each once per connection; the device ignores a command id it has done).
    """
    from apps.feeders import meals

    now = now or timezone.now()
    with transaction.atomic():
        Feeder.objects.filter(pk=feeder.pk).update(is_online=True, connection_id=connection_id, last_seen_at=now)
        feeder.refresh_from_db()
        events.feeder_changed(feeder)
        meals.feeder_commands_expire(feeder=feeder, now=now)  # only the still-valid ones go out
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


def feeder_may_feed(
    *, feeder: Feeder, beacon_mac: str, grams: int | None, now: dt.datetime | None = None
) -> tuple[Pet | None, FeedDecision | None]:
    """The allowance decision for the pet wearing the tag; (None, None) for a tag of nobody's."""
    pet = pet_for_beacon(feeder=feeder, beacon_mac=beacon_mac)
    return (pet, pet_may_feed(pet=pet, grams=grams, now=now)) if pet is not None else (None, None)


def feeder_fed(
    *, feeder: Feeder, beacon_mac: str, grams: int, event_id: str, now: dt.datetime | None = None
) -> FeedEvent:
    """The device dispensed food for the pet wearing the tag (a repeated event id is a no-op)."""
    pet = pet_for_beacon(feeder=feeder, beacon_mac=beacon_mac)
    if pet is None:
        raise InvalidReference("beacon_mac", "collar tag")
    with transaction.atomic():
        repeat = FeedEvent.objects.filter(feeder=feeder, event_id=event_id).exists()
        event = pet_feed(pet=pet, feeder=feeder, grams=grams, source=FeedSource.DEVICE, event_id=event_id, at=now)
        if not repeat:
            events.fed_recorded(event, owner_id=feeder.owner_id)
    return event


# -- feed commands --------------------------------------------------------------------------
def feed_command_deliver(*, command: FeedCommand) -> None:
    """Send the command to its feeder's open socket after commit (no socket: it waits for the next connect)."""
    events.command_to_device(command)


def feed_command_send(*, feeder: Feeder, command_id: int, now: dt.datetime | None = None) -> FeedCommand | None:
    """Mark an open command of `feeder` sent (once more); None if it is closed or not the feeder's."""
    with transaction.atomic():
        sent = FeedCommand.objects.filter(pk=command_id, feeder=feeder, status__in=OPEN_COMMAND).update(
            status=CommandStatus.SENT, attempts=models.F("attempts") + 1, sent_at=now or timezone.now()
        )
        if not sent:
            return None
        command = FeedCommand.objects.get(pk=command_id)
        events.command_changed(command, owner_id=feeder.owner_id)
    return command


def feed_command_complete(
    *, feeder: Feeder, command_id: int, done: bool, grams_dispensed: int, error: str = "",
    now: dt.datetime | None = None,
) -> FeedCommand:  # fmt: skip
    """The device's CommandResult. Closing a closed command changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        # The pet comes along (a feeding needs it) but is not locked here: pet_feed locks it.
        found = FeedCommand.objects.select_for_update(of=("self",)).select_related("pet")
        command = found.filter(pk=command_id, feeder=feeder).first()
        if command is None:
            raise InvalidReference("command_id", "command")
        if command.status not in OPEN_COMMAND:
            return command
        command.status = CommandStatus.DONE if done else CommandStatus.FAILED
        command.grams_dispensed, command.error, command.completed_at = grams_dispensed, error, now
        fed = None
        if done and grams_dispensed > 0:
            fed, not_counted = _record_command_feeding(command, feeder=feeder, at=now)
            command.error = not_counted or error
        command.save(update_fields=["status", "grams_dispensed", "error", "completed_at"])
        events.command_completed(command, fed=fed, owner_id=feeder.owner_id)
        if done:
            from apps.feeders import meals

            meals.schedule_fed(command=command, now=now)
    return command


def _record_command_feeding(command: FeedCommand, *, feeder: Feeder, at: dt.datetime) -> tuple[FeedEvent | None, str]:
    """The FeedEvent of a done command, or why it was not counted."""
    # The event id is unique per feeder: a command is counted once, whatever else went wrong.
    grams, source, event_id = command.grams_dispensed or 0, FeedSource(command.source), f"command-{command.pk}"
    if command.pet is None:
        event = FeedEvent.objects.create(
            feeder=feeder, grams=grams, source=source, command=command, event_id=event_id, fed_at=at
        )
        return event, ""
    try:
        # pet_feed's own savepoint undoes nothing but its lock when the allowance says no.
        event = pet_feed(
            pet=command.pet, feeder=feeder, grams=grams, source=source, event_id=event_id, command=command, at=at
        )
        return event, ""
    except AllowanceExceeded as exc:
        # Dispensed already: the command is done, but over the allowance it is not counted.
        return None, exc.detail[:200]


# -- housekeeping ----------------------------------------------------------------------------
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


def pairing_and_tokens_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete pairing codes past their life and device tokens dead for a day (kept that long for the admin)."""
    now = now or timezone.now()
    day_ago = now - dt.timedelta(days=1)
    codes, _ = PairingCode.objects.filter(models.Q(expires_at__lt=now) | models.Q(used_at__isnull=False)).delete()
    dead = models.Q(revoked_at__lt=day_ago) | models.Q(expires_at__lt=day_ago)
    tokens, _ = DeviceToken.objects.filter(dead).delete()
    return {"pairing codes": codes, "device tokens": tokens}


def history_purge(*, before: dt.datetime) -> dict[str, int]:
    """Visits, feedings and closed commands older than the retention."""
    visits, _ = Visit.objects.filter(seen_at__lt=before).delete()
    fed, _ = FeedEvent.objects.filter(fed_at__lt=before).delete()
    commands, _ = FeedCommand.objects.exclude(status__in=OPEN_COMMAND).filter(created_at__lt=before).delete()
    return {"visits": visits, "feed events": fed, "feed commands": commands}
