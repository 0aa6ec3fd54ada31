"""Property-based (hypothesis, stateful): schedules, time jumps across DST, crashes, repeated results.

Whatever the order of the steps: at most one feeding per slot, no feeding for a
disabled or deleted schedule, the allowance never exceeded, and every command
on a real slot of its schedule.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import Count
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from apps.accounts.tests.factories import UserFactory
from apps.feeders.models import OPEN_COMMAND, CommandStatus, FeedCommand, Feeder, FeedEvent, MealSchedule, Pet
from apps.feeders.selectors.allowance import pet_allowance
from apps.feeders.services import commands as command_services
from apps.feeders.services import meals as meal_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import FeederFactory, PetFactory

pytestmark = pytest.mark.django_db

# Two days before New York and Berlin change their clocks (spring 2026: 8 and 29 March).
START = dt.datetime(2026, 3, 6, 12, 0, tzinfo=dt.UTC)
ZONES = ["UTC", "America/New_York", "Europe/Berlin"]
TIMES = ["00:00", "01:30", "02:30", "03:00", "07:15", "12:00", "23:59"]  # 02:30 is skipped in spring
JUMPS = [60, 600, 3600, 5400, 4 * 3600, 86400, 3 * 86400, 20 * 86400]  # seconds


class Crash(Exception):
    """A worker dying inside the dispatcher's transaction: nothing of it commits."""


class Meals(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        for model in (FeedEvent, FeedCommand, MealSchedule, Pet, Feeder):
            model.objects.all().delete()
        owner = UserFactory()
        self.feeder = FeederFactory(owner=owner)
        self.pets = [PetFactory(owner=owner, allowance_grams=90, time_zone=z) for z in ZONES[:2]]
        self.now = START
        self.schedules: list[int] = []
        self.stopped: dict[int, tuple[set[int], int]] = {}  # schedule -> (its commands, feedings) when stopped

    # -- steps -------------------------------------------------------------------------
    @rule(
        pet=st.integers(0, 1),
        times=st.lists(st.sampled_from(TIMES), min_size=1, max_size=3, unique=True),
        zone=st.sampled_from(ZONES),
        grams=st.integers(10, 60),
    )
    def create(self, pet: int, times: list[str], zone: str, grams: int) -> None:
        schedule = schedule_services.schedule_create(
            pet=self.pets[pet], feeder=self.feeder, times=sorted(times), days_of_week=[1, 2, 3, 4, 5, 6, 7],
            grams=grams, time_zone=zone, now=self.now,
        )  # fmt: skip
        self.schedules.append(schedule.pk)

    # The clock moves, then beat ticks (unless it was down all along: a tick comes later).
    @rule(seconds=st.sampled_from(JUMPS), beat_up=st.booleans())
    def time_passes(self, seconds: int, beat_up: bool) -> None:
        self.now += dt.timedelta(seconds=seconds)
        if beat_up:
            self.dispatch()

    @rule(late=st.sampled_from([0, 30, 600, 1200]))  # seconds; 1200 is past the grace period
    def until_the_next_slot(self, late: int) -> None:
        upcoming = MealSchedule.objects.filter(enabled=True, next_run_at__gt=self.now).order_by("next_run_at").first()
        if upcoming is not None and upcoming.next_run_at is not None:
            self.now = upcoming.next_run_at + dt.timedelta(seconds=late)
        self.dispatch()

    def dispatch(self) -> None:
        meal_services.meal_slots_dispatch(now=self.now, enqueue=lambda ids: None)

    @rule()
    def dispatch_crashes(self) -> None:
        with contextlib.suppress(Crash), transaction.atomic():
            meal_services.meal_slots_dispatch(now=self.now, enqueue=lambda ids: None)
            raise Crash

    @rule(repeat=st.booleans())
    def device_feeds(self, repeat: bool) -> None:
        """The device gets every open command and reports it done (twice, when a result is repeated)."""
        for command in FeedCommand.objects.filter(status__in=OPEN_COMMAND):
            command_services.feed_command_send(feeder=self.feeder, command_id=command.pk, now=self.now)
            for _ in range(2 if repeat else 1):
                command_services.feed_command_complete(
                    feeder=self.feeder, command_id=command.pk, done=True, grams_dispensed=command.grams, now=self.now
                )

    @rule()
    def reconcile(self) -> None:
        command_services.feed_commands_expire(commands=FeedCommand.objects.all(), now=self.now)

    @precondition(lambda self: self.live())
    @rule(data=st.data(), delete=st.booleans())
    def stop_schedule(self, data: st.DataObject, delete: bool) -> None:
        pk = data.draw(st.sampled_from(self.live()))
        schedule = MealSchedule.objects.get(pk=pk)
        if delete:
            schedule_services.schedule_delete(schedule=schedule)
        else:
            schedule_services.schedule_update(schedule=schedule, data={"enabled": False}, now=self.now)
        commands = set(FeedCommand.objects.filter(schedule_id=pk).values_list("pk", flat=True))
        self.stopped[pk] = (commands, FeedEvent.objects.filter(command_id__in=commands).count())

    def live(self) -> list[int]:
        return [pk for pk in self.schedules if pk not in self.stopped]

    # -- what must always hold ----------------------------------------------------------------
    @invariant()
    def one_command_and_one_feeding_per_slot(self) -> None:
        per_slot = (
            FeedCommand.objects.filter(schedule__isnull=False).values("schedule", "slot_at").annotate(n=Count("id"))
        )
        assert all(row["n"] == 1 for row in per_slot)
        per_command = FeedEvent.objects.filter(command__isnull=False).values("command").annotate(n=Count("id"))
        assert all(row["n"] == 1 for row in per_command)

    @invariant()
    def stopped_schedules_feed_no_more(self) -> None:
        for pk, (commands, fed) in self.stopped.items():
            assert not FeedCommand.objects.filter(schedule_id=pk).exclude(pk__in=commands).exists()
            assert FeedEvent.objects.filter(command_id__in=commands).count() == fed

    @invariant()
    def the_allowance_is_never_exceeded(self) -> None:
        for event in FeedEvent.objects.select_related("pet"):
            assert event.pet is not None
            allowance = pet_allowance(pet=event.pet, now=event.fed_at)
            assert allowance.eaten_grams <= allowance.allowance_grams

    @invariant()
    def every_command_is_on_a_slot_of_its_schedule(self) -> None:
        for command in FeedCommand.objects.filter(schedule__isnull=False).select_related("schedule"):
            schedule = command.schedule
            assert schedule is not None
            assert command.slot_at is not None
            local = command.slot_at.astimezone(ZoneInfo(schedule.time_zone))
            before = schedule_services.schedule_next_run(
                schedule=MealSchedule(**{**_fields(schedule), "enabled": True}),
                after=command.slot_at - dt.timedelta(seconds=1),
            )
            assert before == command.slot_at, (local, schedule.times)

    @invariant()
    def a_done_command_was_fed_once(self) -> None:
        done = FeedCommand.objects.filter(status=CommandStatus.DONE)
        assert FeedEvent.objects.filter(command__in=done).count() <= done.count()


def _fields(schedule: MealSchedule) -> dict[str, object]:
    return {"times": schedule.times, "days_of_week": schedule.days_of_week, "time_zone": schedule.time_zone}


@pytest.mark.long
def test_meal_dispatch_properties_hold_for_any_sequence_of_steps() -> None:
    run_state_machine_as_test(
        Meals,
        settings=settings(
            max_examples=25, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
