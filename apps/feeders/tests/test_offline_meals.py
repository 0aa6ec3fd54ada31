"""Meals a feeder serves on its own while offline: each slot once, whoever serves it (real database)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from celery.canvas import Signature
from channels.layers import get_channel_layer
from django.test import TestCase

from apps.api.messages import device_group
from apps.feeders.errors import InvalidReference
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent, FeedSource, MealSchedule
from apps.feeders.selectors.allowance import pet_allowance
from apps.feeders.services import commands as command_services
from apps.feeders.services import meals as meal_services
from apps.feeders.services import offline as offline_services
from apps.feeders.services import pets as pet_services
from apps.feeders.services import schedule_sync as sync_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.services.alerts import meal_missed_alert
from apps.feeders.tests.factories import PetFactory, ScheduleFactory
from apps.notifications.models import Alert, AlertKind

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MONDAY = dt.datetime(2026, 11, 16, 6, 0, tzinfo=UTC)
SLOT = MONDAY.replace(hour=7, minute=30)
KEY = "{}.0@2026-11-16"


def local_meal(*, allowance: int = 80, grams: int = 20, times: list[str] | None = None) -> MealSchedule:
    """A schedule on a feeder that keeps its schedule, its clock measured 0 s off."""
    row = ScheduleFactory(pet=PetFactory(allowance_grams=allowance), times=times or ["07:30"], grams=grams)
    Feeder.objects.filter(pk=row.feeder_id).update(local_schedule=True, clock_offset=0.0)
    row.feeder.refresh_from_db()
    row.next_run_at = schedule_services.schedule_next_run(schedule=row, after=MONDAY)
    row.save()
    return row


def dispatch(now: dt.datetime) -> list[int]:
    queued: list[int] = []
    with TestCase.captureOnCommitCallbacks(execute=True):
        meal_services.meal_slots_dispatch(now=now, enqueue=queued.extend)
    return queued


def served(
    meal: MealSchedule, *, event_id: str = "e1", fed_at: dt.datetime | None = SLOT, now: dt.datetime
) -> FeedCommand:
    meal.feeder.refresh_from_db()
    return offline_services.feeder_slot_fed(
        feeder=meal.feeder, slot=KEY.format(meal.pk), grams=meal.grams, event_id=event_id, fed_at=fed_at, now=now
    )


def test_a_dispatched_slot_carries_its_key_for_the_feeder() -> None:
    meal = local_meal()
    dispatch(SLOT)
    assert FeedCommand.objects.get().slot_key == KEY.format(meal.pk)


def test_a_slot_served_offline_closes_its_command_as_done_by_the_device_at_the_devices_time() -> None:
    meal = local_meal()
    dispatch(SLOT)  # the feeder is offline: the command stays pending
    command = served(meal, fed_at=SLOT + dt.timedelta(seconds=60), now=SLOT + dt.timedelta(hours=2))
    assert (command.status, command.local, command.grams_dispensed) == (CommandStatus.DONE, True, 20)
    event = FeedEvent.objects.get()
    assert (event.fed_at, event.offline, event.clock_untrusted) == (SLOT + dt.timedelta(seconds=60), True, False)
    assert (event.command, event.source) == (command, FeedSource.SCHEDULE)


def test_a_slot_served_offline_before_the_dispatcher_got_to_it_is_never_dispatched() -> None:
    meal = local_meal()
    served(meal, now=SLOT + dt.timedelta(minutes=2))  # the whole server was down at the slot
    assert dispatch(SLOT + dt.timedelta(minutes=3)) == []
    command = FeedCommand.objects.get()
    assert (command.status, command.slot_at, command.local) == (CommandStatus.DONE, SLOT, True)


def test_a_repeated_or_late_report_of_a_slot_records_it_once() -> None:
    meal = local_meal()
    dispatch(SLOT)
    served(meal, event_id="e1", now=SLOT + dt.timedelta(hours=1))
    served(meal, event_id="e1", now=SLOT + dt.timedelta(hours=1))  # uploaded twice
    served(meal, event_id="e2", now=SLOT + dt.timedelta(hours=1))  # another id, the same slot
    assert FeedEvent.objects.count() == 1
    assert FeedCommand.objects.get().status == CommandStatus.DONE


def test_a_slot_served_by_a_feed_now_and_then_reported_local_is_recorded_once() -> None:
    meal = local_meal()
    command = FeedCommand.objects.get(pk=dispatch_sent(meal))
    command_services.feed_command_complete(
        feeder=meal.feeder, command_id=command.pk, done=True, grams_dispensed=20, now=SLOT
    )
    served(meal, event_id="local-1", now=SLOT + dt.timedelta(minutes=5))
    assert list(FeedEvent.objects.values_list("event_id", "offline")) == [(f"command-{command.pk}", False)]


def test_a_result_for_a_slot_the_device_reported_first_changes_nothing() -> None:
    meal = local_meal()
    pk = dispatch_sent(meal)
    served(meal, now=SLOT + dt.timedelta(minutes=5))
    command_services.feed_command_complete(feeder=meal.feeder, command_id=pk, done=True, grams_dispensed=20)
    assert FeedEvent.objects.get().offline is True


def dispatch_sent(meal: MealSchedule) -> int:
    Feeder.objects.filter(pk=meal.feeder_id).update(is_online=True)
    (pk,) = dispatch(SLOT)
    command_services.feed_commands_deliver(command_ids=[pk], now=SLOT)
    return pk


def test_a_feeding_served_offline_counts_in_its_own_period_against_the_allowance() -> None:
    meal = local_meal(allowance=30, grams=20)
    served(meal, now=SLOT + dt.timedelta(days=1))  # uploaded a day late: counted on Monday
    monday = pet_allowance(pet=meal.pet, now=SLOT + dt.timedelta(hours=1))
    tuesday = pet_allowance(pet=meal.pet, now=SLOT + dt.timedelta(days=1))
    assert (monday.eaten_grams, monday.remaining_grams, tuesday.eaten_grams) == (20, 10, 0)


def test_a_slot_over_the_allowance_is_closed_but_not_counted() -> None:
    meal = local_meal(allowance=30, grams=20, times=["07:30", "08:00"])
    served(meal, now=SLOT + dt.timedelta(hours=2))
    second = offline_services.feeder_slot_fed(
        feeder=meal.feeder, slot=f"{meal.pk}.1@2026-11-16", grams=20, event_id="e2", fed_at=None,
        now=SLOT + dt.timedelta(hours=2),
    )  # fmt: skip
    assert second.status == CommandStatus.DONE
    assert "may not eat 20 g" in second.error  # dispensed, but not counted
    assert pet_allowance(pet=meal.pet, now=SLOT).eaten_grams == 20


def test_a_slot_of_another_feeder_or_no_slot_at_all_is_an_invalid_reference() -> None:
    meal, other = local_meal(), local_meal()
    for slot in (KEY.format(other.pk), "99999.0@2026-11-16"):
        with pytest.raises(InvalidReference):
            offline_services.feeder_slot_fed(
                feeder=meal.feeder, slot=slot, grams=20, event_id="x", fed_at=None, now=SLOT
            )
    assert not FeedCommand.objects.exists()


# -- missed, or not yet reported -------------------------------------------------------------------
def test_a_slot_never_sent_to_such_a_feeder_waits_for_its_report_instead_of_being_missed() -> None:
    meal = local_meal()
    dispatch(SLOT)
    command_services.feed_commands_expire(commands=FeedCommand.objects.all(), now=SLOT + dt.timedelta(hours=1))
    assert FeedCommand.objects.get().status == CommandStatus.UNREPORTED
    assert offline_services.slots_unreported_settle(now=SLOT + dt.timedelta(hours=1)) == 0
    served(meal, now=SLOT + dt.timedelta(hours=2))
    assert FeedCommand.objects.get().status == CommandStatus.DONE
    assert not Alert.objects.filter(kind=AlertKind.MEAL_MISSED).exists()


def test_a_slot_the_feeder_reported_past_without_serving_it_is_missed_and_the_owner_told() -> None:
    meal = local_meal()
    dispatch(SLOT)
    command_services.feed_commands_expire(commands=FeedCommand.objects.all(), now=SLOT + dt.timedelta(hours=1))
    offline_services.feeder_schedule_ack(feeder=meal.feeder, version=1, now=SLOT + dt.timedelta(hours=2))
    assert offline_services.slots_unreported_settle(now=SLOT + dt.timedelta(hours=2)) == 1
    assert FeedCommand.objects.get().status == CommandStatus.MISSED
    assert Alert.objects.filter(kind=AlertKind.MEAL_MISSED, closed_at__isnull=True).count() == 1


def test_a_slot_not_reported_within_the_wait_is_missed(settings: object) -> None:
    local_meal()
    dispatch(SLOT)
    command_services.feed_commands_expire(commands=FeedCommand.objects.all(), now=SLOT + dt.timedelta(hours=1))
    assert offline_services.slots_unreported_settle(now=SLOT + dt.timedelta(days=2)) == 1


def test_a_missed_slot_the_feeder_reports_later_is_corrected_and_its_alert_ends() -> None:
    meal = local_meal()
    dispatch(SLOT)
    FeedCommand.objects.update(status=CommandStatus.MISSED)
    Alert.objects.all().delete()
    meal_missed_alert(FeedCommand.objects.get(), now=SLOT)
    served(meal, now=SLOT + dt.timedelta(days=3))
    assert FeedCommand.objects.get().status == CommandStatus.DONE
    assert not Alert.objects.filter(kind=AlertKind.MEAL_MISSED, closed_at__isnull=True).exists()


def test_the_dispatcher_does_not_call_a_late_slot_of_such_a_feeder_missed() -> None:
    local_meal()
    dispatch(SLOT + dt.timedelta(hours=3))  # beat was down across the slot
    assert FeedCommand.objects.get().status == CommandStatus.UNREPORTED
    assert not Alert.objects.filter(kind=AlertKind.MEAL_MISSED).exists()


# -- what the owner is told, what the feeder is sent -------------------------------------------------
@pytest.mark.usefixtures("eager_tasks")
def test_the_owner_hears_once_how_many_meals_the_feeder_served_on_its_own() -> None:
    meal = local_meal(times=["07:30", "08:00"], allowance=100)
    served(meal, now=SLOT + dt.timedelta(hours=2))
    offline_services.feeder_slot_fed(
        feeder=meal.feeder, slot=f"{meal.pk}.1@2026-11-16", grams=20, event_id="e2", fed_at=None,
        now=SLOT + dt.timedelta(hours=2),
    )  # fmt: skip
    with TestCase.captureOnCommitCallbacks(execute=True):
        offline_services.feeder_schedule_ack(feeder=meal.feeder, version=1, now=SLOT + dt.timedelta(hours=2))
        offline_services.feeder_schedule_ack(feeder=meal.feeder, version=1, now=SLOT + dt.timedelta(hours=3))
    notice = Alert.objects.get(kind=AlertKind.FEEDER_OFFLINE)
    assert notice.subject == f"{meal.feeder.name} was offline and fed 2 meals on its own"
    assert notice.closed_at is not None


def refuse(*args: object, **kwargs: object) -> None:
    raise ConnectionError("broker down")


@pytest.mark.usefixtures("eager_tasks")
def test_an_acknowledgement_whose_notice_the_broker_refuses_fails_and_the_meals_stay_untold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meal = local_meal()
    served(meal, now=SLOT + dt.timedelta(hours=2))
    with monkeypatch.context() as broker_down:
        broker_down.setattr(Signature, "apply_async", refuse)
        with pytest.raises(ConnectionError):  # the device is answered dependency_unavailable, and sends it again
            offline_services.feeder_schedule_ack(feeder=meal.feeder, version=1, now=SLOT + dt.timedelta(hours=2))
    assert not Alert.objects.exists()
    assert Feeder.objects.get(pk=meal.feeder_id).local_meals_untold == 1
    offline_services.feeder_schedule_ack(feeder=meal.feeder, version=1, now=SLOT + dt.timedelta(hours=3))
    offline_services.feeder_schedule_ack(feeder=meal.feeder, version=1, now=SLOT + dt.timedelta(hours=4))
    notice = Alert.objects.get(kind=AlertKind.FEEDER_OFFLINE)  # told once, when the broker took it
    assert notice.subject == f"{meal.feeder.name} was offline and fed 1 meal on its own"


def test_an_acknowledgement_with_nothing_untold_queues_no_task(monkeypatch: pytest.MonkeyPatch) -> None:
    meal = local_meal()
    monkeypatch.setattr(Signature, "apply_async", refuse)  # would fail the acknowledgement if it queued one
    offline_services.feeder_schedule_ack(feeder=meal.feeder, version=1, now=SLOT)
    assert Feeder.objects.get(pk=meal.feeder_id).schedule_acked_version == 1


def test_each_schedule_change_is_a_new_version_of_the_feeders_schedule() -> None:
    meal = local_meal(times=["18:00", "07:30"])
    before = Feeder.objects.get(pk=meal.feeder_id).schedule_version
    schedule_services.schedule_update(schedule=meal, data={"grams": 25})
    sync = sync_services.feeder_schedule_sync(feeder_id=meal.feeder_id)
    assert sync is not None
    assert sync.version == before + 1
    meals = [(m.key, m.time, m.grams) for m in sync.meals]
    assert meals == [(f"{meal.pk}.0", "07:30", 25), (f"{meal.pk}.1", "18:00", 25)]
    Feeder.objects.filter(pk=meal.feeder_id).update(local_schedule=False)
    assert sync_services.feeder_schedule_sync(feeder_id=meal.feeder_id) is None


def test_a_slot_refused_over_the_allowance_is_told_to_the_feeder_so_it_does_not_serve_it_itself() -> None:
    meal = local_meal(allowance=10, grams=20)

    async def feeder_socket() -> dict[str, object]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(device_group(meal.feeder_id), channel)
        await sync_to_async(dispatch)(SLOT)
        return dict(await asyncio.wait_for(layer.receive(channel), 10))

    event = async_to_sync(feeder_socket)()
    assert FeedCommand.objects.get().status == CommandStatus.FAILED
    pushed = json.loads(str(event["text"]))
    assert pushed == {"type": "SlotSkip", "slot": KEY.format(meal.pk), "reason": "allowance_exceeded"}


def test_a_slot_the_feeder_served_before_a_late_dispatcher_came_is_neither_refused_nor_skipped() -> None:
    meal = local_meal(allowance=30, grams=20)
    served(meal, fed_at=SLOT + dt.timedelta(seconds=5), now=SLOT + dt.timedelta(seconds=6))  # beat was late

    async def feeder_socket() -> list[object]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(device_group(meal.feeder_id), channel)
        await sync_to_async(dispatch)(SLOT + dt.timedelta(seconds=8))  # in the grace: 20 of 30 g eaten would refuse it
        try:
            return [await asyncio.wait_for(layer.receive(channel), 1)]
        except TimeoutError:
            return []

    assert async_to_sync(feeder_socket)() == []  # no SlotSkip for a slot it served
    assert FeedCommand.objects.get().status == CommandStatus.DONE
    assert not Alert.objects.filter(kind=AlertKind.ALLOWANCE_REACHED).exists()


def test_a_deleted_pets_meals_leave_the_feeders_schedule_in_a_new_version() -> None:
    meal = local_meal()
    before = Feeder.objects.get(pk=meal.feeder_id).schedule_version
    pet_services.pet_delete(pet=meal.pet)
    sync = sync_services.feeder_schedule_sync(feeder_id=meal.feeder_id)
    assert sync is not None
    assert (sync.version, sync.meals) == (before + 1, [])
