"""The meal dispatcher, delivery and reconciliation, in this process (real database and Redis)."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from time_machine import TimeMachineFixture

from apps.api.messages import device_group
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent, FeedSource, MealSchedule
from apps.feeders.services import commands as command_services
from apps.feeders.services import meals as meal_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tasks import meal_slots_dispatch_task
from apps.feeders.tests.factories import PetFactory, ScheduleFactory, owner_of
from apps.notifications.models import Alert, AlertKind, AlertPreference

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MONDAY = dt.datetime(2026, 11, 16, 6, 0, tzinfo=UTC)  # 06:00 UTC


def schedule(
    times: list[str], *, at: dt.datetime = MONDAY, tz: str = "UTC", grams: int = 20, **pet: int
) -> MealSchedule:
    pet_row = PetFactory(**pet)
    row = ScheduleFactory(pet=pet_row, times=times, time_zone=tz, grams=grams)
    row.next_run_at = schedule_services.schedule_next_run(schedule=row, after=at)
    row.save()
    return row


def dispatch(now: dt.datetime) -> tuple[meal_services.DispatchResult, list[int]]:
    queued: list[int] = []
    with TestCase.captureOnCommitCallbacks(execute=True):
        result = meal_services.meal_slots_dispatch(now=now, enqueue=queued.extend)
    return result, queued


def test_each_due_slot_becomes_one_command_however_often_the_dispatcher_runs() -> None:
    meal = schedule(["07:30", "18:00"])
    first, queued = dispatch(MONDAY.replace(hour=7, minute=31))
    again, queued_again = dispatch(MONDAY.replace(hour=7, minute=32))
    command = FeedCommand.objects.get()
    assert (command.schedule, command.slot_at, command.status) == (meal, MONDAY.replace(hour=7, minute=30), "pending")
    assert (first.pending, queued, again.total(), queued_again) == (1, [command.pk], 0, [])
    meal.refresh_from_db()
    assert meal.next_run_at == MONDAY.replace(hour=18)


def test_a_slot_due_before_beats_next_tick_gets_a_tick_at_its_second_once(settings: object) -> None:
    settings.MEAL_DISPATCH_INTERVAL = 1  # type: ignore[attr-defined]
    now = timezone.now()  # an instant of this run: the booking lives in the shared cache
    meal = schedule(["07:30"])
    meal.next_run_at = now + dt.timedelta(seconds=0.4)
    meal.save()
    assert meal_services.meal_slots_wake_at(now=now) == meal.next_run_at
    assert meal_services.meal_slots_wake_at(now=now) is None  # booked: a second beat or tick books nothing more
    meal.next_run_at = now + dt.timedelta(seconds=5)  # beat's own ticks come first
    meal.save()
    assert meal_services.meal_slots_wake_at(now=now) is None
    MealSchedule.objects.update(enabled=False)
    assert meal_services.meal_slots_wake_at(now=now - dt.timedelta(seconds=4.5)) is None


def test_a_wake_tick_books_no_other(settings: object) -> None:
    settings.MEAL_DISPATCH_INTERVAL = 1  # type: ignore[attr-defined]
    meal = schedule(["07:30"])
    meal.next_run_at = timezone.now() + dt.timedelta(seconds=0.8)
    meal.save()
    meal_slots_dispatch_task.apply(kwargs={"wake": False})  # run here, as the worker would
    assert meal_services.meal_slots_wake_at() == meal.next_run_at  # nothing booked it meanwhile


def test_a_slot_later_than_the_grace_period_is_missed_and_the_owner_mailed_once(settings: object) -> None:
    meal = schedule(["07:00", "08:00", "09:00", "12:00"])
    result, queued = dispatch(MONDAY.replace(hour=10))  # beat was stopped across three slots
    assert (result.missed, result.pending, queued) == (3, 0, [])
    assert list(FeedCommand.objects.order_by("slot_at").values_list("status", flat=True)) == ["missed"] * 3
    alert = Alert.objects.get()
    assert (alert.kind, alert.key, alert.owner, alert.mailed_at is not None) == (
        AlertKind.MEAL_MISSED, f"schedule:{meal.pk}", owner_of(meal.pet), True,
    )  # fmt: skip
    _, queued = dispatch(MONDAY.replace(hour=12, minute=1))  # back on time: fed
    command = FeedCommand.objects.get(pk=queued[0])
    command_services.feed_command_complete(feeder=command.feeder, command_id=command.pk, done=True, grams_dispensed=20)
    assert Alert.objects.get().closed_at is not None  # a fed slot ends the incident


def test_next_run_follows_the_wall_clock_across_dst_changes() -> None:
    # New York springs forward on 2026-03-08 at 02:00 (02:30 never happens) and falls back on 2026-11-01.
    tz = ZoneInfo("America/New_York")
    spring = schedule(["02:30"], at=dt.datetime(2026, 3, 7, 12, tzinfo=tz), tz="America/New_York")
    dispatch(dt.datetime(2026, 3, 8, 3, 5, tzinfo=tz))
    slots = [spring.commands.get().slot_at]
    spring.refresh_from_db()
    assert slots == [dt.datetime(2026, 3, 8, 3, 0, tzinfo=tz)]  # the jump itself
    assert spring.next_run_at == dt.datetime(2026, 3, 9, 2, 30, tzinfo=tz)
    fall = schedule(["01:30"], at=dt.datetime(2026, 10, 31, 12, tzinfo=tz), tz="America/New_York")
    for hour in (5, 6, 7):  # 01:35 EDT, 01:35 EST (01:30 came twice), 02:35 EST: the meal once
        dispatch(dt.datetime(2026, 11, 1, hour, 35, tzinfo=UTC))
    assert list(fall.commands.values_list("slot_at", flat=True)) == [dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)]
    fall.refresh_from_db()
    assert fall.next_run_at == dt.datetime(2026, 11, 2, 1, 30, tzinfo=tz)


def test_a_scheduled_meal_over_the_allowance_is_not_sent_and_the_owner_is_told() -> None:
    meal = schedule(["07:00", "07:05"], grams=50, allowance_grams=80)
    result, queued = dispatch(MONDAY.replace(hour=7, minute=6))
    assert (result.pending, result.refused, len(queued)) == (1, 1, 1)
    refused = meal.commands.get(status=CommandStatus.FAILED)
    assert refused.slot_at == MONDAY.replace(hour=7, minute=5)
    assert Alert.objects.get().kind == AlertKind.ALLOWANCE_REACHED


def test_owners_who_said_no_get_no_mail_but_the_incident_is_kept() -> None:
    meal = schedule(["07:00"])
    AlertPreference.objects.create(owner=owner_of(meal.pet), meal_missed=False)
    dispatch(MONDAY.replace(hour=9))
    assert Alert.objects.get().mailed_at is None


def test_disabling_or_deleting_a_schedule_closes_its_open_commands() -> None:
    meal = schedule(["07:00"])
    other = schedule(["07:00"])
    dispatch(MONDAY.replace(hour=7, minute=1))
    schedule_services.schedule_update(schedule=meal, data={"enabled": False})
    schedule_services.schedule_delete(schedule=other)
    assert set(FeedCommand.objects.values_list("status", flat=True)) == {CommandStatus.EXPIRED}
    command = FeedCommand.objects.first()
    assert command is not None
    late = command_services.feed_command_complete(
        feeder=command.feeder, command_id=command.pk, done=True, grams_dispensed=20
    )
    assert (late.status, FeedEvent.objects.count()) == (CommandStatus.EXPIRED, 0)


def test_delivery_gives_up_after_the_cap_and_alerts(settings: object) -> None:
    settings.COMMAND_MAX_DELIVERIES = 3  # type: ignore[attr-defined]
    meal = schedule(["07:00"])
    _, [command_id] = dispatch(MONDAY.replace(hour=7, minute=1))
    FeedCommand.objects.filter(pk=command_id).update(deliveries=3)  # three workers died while delivering it
    assert command_services.feed_commands_deliver(command_ids=[command_id]) == 0
    command = FeedCommand.objects.get(pk=command_id)
    assert (command.status, command.deliveries) == (CommandStatus.FAILED, 4)
    alert = Alert.objects.get(kind=AlertKind.COMMAND_FAILED)
    assert alert.owner == owner_of(meal.pet)
    assert command_services.feed_commands_deliver(command_ids=[command_id]) == 0  # a closed command: nothing more


def test_the_reconciler_misses_unsent_slots_expires_unanswered_ones_and_resends_to_online_feeders(
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(MONDAY.replace(hour=7, minute=1), tick=False)  # created_at is the real clock's
    offline, online = schedule(["07:00"]), schedule(["07:00"])
    Feeder.objects.filter(pk=online.feeder_id).update(is_online=True)
    _, queued = dispatch(MONDAY.replace(hour=7, minute=1))
    sent = FeedCommand.objects.get(schedule=online)
    command_services.feed_command_send(feeder=online.feeder, command_id=sent.pk, now=MONDAY.replace(hour=7, minute=1))
    owner_order = command_services.feed_command_create(feeder=online.feeder, grams=5, source=FeedSource.OWNER)

    resent = command_services.feed_commands_reconcile(now=MONDAY.replace(hour=7, minute=2))
    assert resent.resent == 2  # the unanswered slot, and the owner's order whose delivery was lost
    closed = command_services.feed_commands_reconcile(now=MONDAY.replace(hour=7, minute=16))
    assert (closed.missed, closed.expired) == (1, 2)
    statuses = dict(FeedCommand.objects.values_list("pk", "status"))
    assert statuses == {
        FeedCommand.objects.get(schedule=offline).pk: CommandStatus.MISSED,
        sent.pk: CommandStatus.EXPIRED,
        owner_order.pk: CommandStatus.EXPIRED,
    }


def test_a_ticks_queries_follow_the_due_slots_not_the_schedules() -> None:
    def queries_for_one_due_slot(extra: int) -> int:
        MealSchedule.objects.all().delete()
        for _ in range(extra):
            schedule(["23:00"])
        schedule(["07:00"])
        with CaptureQueriesContext(connection) as captured:
            dispatch(MONDAY.replace(hour=7, minute=1))
        return len(captured)

    assert queries_for_one_due_slot(1) == queries_for_one_due_slot(40)


def test_a_dispatcher_tick_delivers_to_online_feeders_itself_with_no_queued_task() -> None:
    """No worker runs here and tasks are not eager: the FeedNow can only come from the tick's own process."""
    meal = schedule(["07:30"])
    meal.next_run_at = timezone.now() - dt.timedelta(seconds=1)
    meal.save()
    Feeder.objects.filter(pk=meal.feeder_id).update(is_online=True)

    def tick() -> None:
        with TestCase.captureOnCommitCallbacks(execute=True):
            meal_slots_dispatch_task.apply(kwargs={"wake": False})  # run here, as the worker would

    async def feeder_socket() -> dict[str, object]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(device_group(meal.feeder_id), channel)
        await sync_to_async(tick)()
        return dict(await asyncio.wait_for(layer.receive(channel), 10))

    event = async_to_sync(feeder_socket)()
    command = FeedCommand.objects.get(schedule=meal)
    assert (command.status, command.deliveries, command.attempts) == (CommandStatus.SENT, 1, 1)
    assert event["feed_now"] == {
        "command_id": command.pk, "grams": command.grams, "pet_id": command.pet_id, "slot": command.slot_key,
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)  # real commits: the batches are handed over as each one commits
def test_a_wake_tick_writes_its_slots_ahead_and_sends_them_when_due() -> None:
    due = timezone.now() + dt.timedelta(seconds=0.5)
    meal = schedule(["07:30"])
    meal.next_run_at = due
    meal.save()
    sent: list[tuple[dt.datetime, list[int]]] = []
    result = meal_services.meal_slots_dispatch_ahead(at=due, deliver=lambda ids: sent.append((timezone.now(), ids)))
    command = FeedCommand.objects.get(schedule=meal)
    assert (result.pending, command.slot_at, command.status) == (1, due, CommandStatus.PENDING)
    assert command.created_at < due <= sent[0][0]  # written ahead, handed to delivery on its second
    assert [ids for _, ids in sent] == [[command.pk]]
