"""Property-based (hypothesis, stateful): a feeder that keeps its schedule, against the real services.

The steps: the link goes up and down, beat stops and starts, the device's clock drifts or loses
its time, the owner edits the schedule (online or not), time jumps across a DST change, and the
device uploads what it served offline in order, reordered or twice. The device is modelled as
firmware behaves (docs/protocol.md, "Meals offline"); the server is the services, no sockets.

Whatever the order: each slot is dispensed at most once and recorded at most once; every slot the
device reported is done; no slot the device served is called missed; the allowance holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from apps.accounts.tests.factories import UserFactory
from apps.feeders.clock import localize
from apps.feeders.errors import InvalidReference
from apps.feeders.models import OPEN_COMMAND, CommandStatus, FeedCommand, Feeder, FeedEvent, MealSchedule, Pet
from apps.feeders.protocol import ScheduleSync
from apps.feeders.selectors.allowance import pet_allowance
from apps.feeders.services import commands as command_services
from apps.feeders.services import meals as meal_services
from apps.feeders.services import offline as offline_services
from apps.feeders.services import presence as presence_services
from apps.feeders.services import schedule_sync as sync_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import FeederFactory, PetFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 7, 12, 0, tzinfo=dt.UTC)  # the day before New York springs forward
ZONES = ["UTC", "America/New_York"]
TIMES = ["01:30", "02:30", "07:15", "12:00", "23:59"]  # 02:30 does not exist in New York on 8 March
JUMPS = [30, 90, 600, 1800, 3 * 3600, 86400]  # seconds
LOCAL_GRACE = dt.timedelta(seconds=60)
MEAL_TIMES = st.lists(st.sampled_from(TIMES), min_size=1, max_size=2, unique=True)


@dataclass
class Device:
    """The firmware: its copy of the schedule, its clock, what it served and what it has still to upload."""

    online: bool = False
    skew: float = 0.0  # seconds its clock is ahead
    sync: ScheduleSync | None = None
    checked: dt.datetime = START  # slots up to here are looked at
    dispensed: dict[str, int] = field(default_factory=dict)  # slot key -> times dispensed
    queue: list[dict[str, object]] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)  # SlotSkip: refused by the allowance, not served
    reported: dict[str, int] = field(default_factory=dict)  # slot key -> the command the server closed for it
    events: int = 0

    def slots(self, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, str, int]]:
        """(when, slot key, grams) of its schedule's slots in (start, end], by its own rules."""
        found = []
        for meal in self.sync.meals if self.sync else []:
            tz = ZoneInfo(meal.time_zone)
            day = start.astimezone(tz).date() - dt.timedelta(days=1)
            while day <= end.astimezone(tz).date():
                at = localize(dt.datetime.combine(day, dt.time.fromisoformat(meal.time)), tz)
                if day.isoweekday() in meal.days and start < at <= end:
                    found.append((at, f"{meal.key}@{day.isoformat()}", meal.grams))
                day += dt.timedelta(days=1)
        return sorted(found)


class OfflineMeals(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        for model in (FeedEvent, FeedCommand, MealSchedule, Pet, Feeder):
            model.objects.all().delete()
        owner = UserFactory()
        self.feeder = FeederFactory(owner=owner)
        self.pet = PetFactory(owner=owner, allowance_grams=100, time_zone="America/New_York")
        self.now = START
        self.beat_up = True
        self.device = Device()
        self.schedules: list[int] = []
        self.connect(data=None, repeat=False)

    # -- the device ----------------------------------------------------------------------------
    def hello(self) -> None:
        feeder = Feeder.objects.get(pk=self.feeder.pk)
        device_time = self.now + dt.timedelta(seconds=self.device.skew)
        presence_services.feeder_hello(
            feeder=feeder, firmware="1", ip=None, capabilities=["local_schedule"], device_time=device_time,
            now=self.now,
        )  # fmt: skip
        self.take_sync()

    def take_sync(self) -> None:
        sync = sync_services.feeder_schedule_sync(feeder_id=self.feeder.pk)
        if sync is not None and (self.device.sync is None or sync.version >= self.device.sync.version):
            self.device.sync = sync

    def upload(self, *, data: st.DataObject | None, repeat: bool) -> None:
        queue = list(self.device.queue)
        if repeat:  # sent again, half of them under new event ids (a device that lost its ids in a reboot)
            again = queue[: len(queue) // 2 + 1]
            queue += [{**fed, "event_id": f"{fed['event_id']}-again{n % 2}"} for n, fed in enumerate(again)]
        if data is not None:  # reordered on the way (a device that resends after a lost Ack)
            queue = data.draw(st.permutations(queue))
        feeder = Feeder.objects.get(pk=self.feeder.pk)
        for fed in queue:
            try:
                command = offline_services.feeder_slot_fed(feeder=feeder, now=self.now, **fed)  # type: ignore[arg-type]
                self.device.reported[str(fed["slot"])] = command.pk
            except InvalidReference:  # its schedule is gone: the device drops it
                pass
        self.device.queue.clear()

    def feed_now(self) -> None:
        """Every open command, as the socket sends them; a slot served already is not served again."""
        feeder = Feeder.objects.get(pk=self.feeder.pk)
        for pk in FeedCommand.objects.filter(feeder=feeder, status__in=OPEN_COMMAND).values_list("pk", flat=True):
            command = command_services.feed_command_send(feeder=feeder, command_id=pk, now=self.now)
            if command is not None:
                self.obey(feeder, command)

    def obey(self, feeder: Feeder, command: FeedCommand) -> None:
        """A FeedNow: dispensed unless its slot was served already; answered either way."""
        if command.slot_key not in self.device.dispensed:
            self.dispense(str(command.slot_key))
        command_services.feed_command_complete(
            feeder=feeder, command_id=command.pk, done=True, grams_dispensed=command.grams, now=self.now
        )

    def dispense(self, key: str) -> None:
        self.device.dispensed[key] = self.device.dispensed.get(key, 0) + 1

    def serve_alone(self, until: dt.datetime) -> None:
        """Slots whose FeedNow did not come within the local grace: served by the device, queued."""
        for at, key, grams in self.device.slots(self.device.checked - LOCAL_GRACE, until - LOCAL_GRACE):
            if key in self.device.dispensed or key in self.device.skipped:
                continue
            self.dispense(key)
            self.device.events += 1
            fed_at = at + LOCAL_GRACE + dt.timedelta(seconds=self.device.skew)
            self.device.queue.append(
                {"slot": key, "grams": grams, "event_id": f"ev{self.device.events}", "fed_at": fed_at}
            )

    # -- steps ---------------------------------------------------------------------------------
    @rule(data=st.one_of(st.none(), st.data()), repeat=st.booleans())
    def connect(self, data: st.DataObject | None, repeat: bool) -> None:
        if self.device.online:
            return
        self.device.online = True
        feeder = Feeder.objects.get(pk=self.feeder.pk)
        orders = presence_services.feeder_connect(feeder=feeder, connection_id="c", now=self.now)
        self.hello()
        self.upload(data=data, repeat=repeat)  # first what it queued, then the orders
        for command in orders:
            self.obey(feeder, command)
        version = self.device.sync.version if self.device.sync else 0
        feeder = Feeder.objects.get(pk=self.feeder.pk)
        offline_services.feeder_schedule_ack(feeder=feeder, version=version, now=self.now)

    @rule()
    def feed_now_lost(self) -> None:
        """The server sends the open commands and the link drops before they arrive."""
        if not self.device.online:
            return
        feeder = Feeder.objects.get(pk=self.feeder.pk)
        for pk in FeedCommand.objects.filter(feeder=feeder, status__in=OPEN_COMMAND).values_list("pk", flat=True):
            command_services.feed_command_send(feeder=feeder, command_id=pk, now=self.now)
        self.disconnect()

    @rule()
    def disconnect(self) -> None:
        self.device.online = False
        Feeder.objects.filter(pk=self.feeder.pk).update(is_online=False)

    @rule(beat_up=st.booleans())
    def beat(self, beat_up: bool) -> None:
        self.beat_up = beat_up

    @rule(skew=st.sampled_from([0.0, 2.0, -3.0, 250.0, -(10**9)]))  # the last: an RTC reset to 1994
    def clock(self, skew: float) -> None:
        self.device.skew = skew
        if self.device.online:
            feeder = Feeder.objects.get(pk=self.feeder.pk)
            presence_services.feeder_heartbeat(
                feeder=feeder, food_level_percent=None, signal_dbm=None,
                device_time=self.now + dt.timedelta(seconds=skew), now=self.now,
            )  # fmt: skip

    @initialize(times=MEAL_TIMES, zone=st.sampled_from(ZONES))
    def first_schedule(self, times: list[str], zone: str) -> None:
        self.add_schedule(times, zone)

    @rule(times=MEAL_TIMES, zone=st.sampled_from(ZONES))
    def add_schedule(self, times: list[str], zone: str) -> None:
        if len(self.schedules) >= 2:
            return
        schedule = schedule_services.schedule_create(
            pet=self.pet, feeder=self.feeder, times=sorted(times), days_of_week=[1, 2, 3, 4, 5, 6, 7], grams=20,
            time_zone=zone, now=self.now,
        )  # fmt: skip
        self.schedules.append(schedule.pk)
        if self.device.online:
            self.take_sync()  # pushed after commit

    @rule(data=st.data(), times=MEAL_TIMES)
    def edit_schedule(self, data: st.DataObject, times: list[str]) -> None:
        if not self.schedules:
            return
        schedule = MealSchedule.objects.get(pk=data.draw(st.sampled_from(self.schedules)))
        schedule_services.schedule_update(schedule=schedule, data={"times": sorted(times)}, now=self.now)
        if self.device.online:
            self.take_sync()

    @rule(seconds=st.sampled_from(JUMPS))
    def time_passes(self, seconds: int) -> None:
        end = self.now + dt.timedelta(seconds=seconds)
        # Each slot the device knows, in time order: the dispatcher at its second (beat up), then
        # the device's own timer a grace later.
        for at, _, _ in self.device.slots(self.now, end):
            self.step_to(at)
        self.step_to(end)

    @rule(late=st.sampled_from([0, 30, 90, 600, 1200]))  # seconds after the next slot; 1200 is past the grace
    def until_the_next_slot(self, late: int) -> None:
        upcoming = MealSchedule.objects.filter(next_run_at__gt=self.now).order_by("next_run_at").first()
        if upcoming is not None and upcoming.next_run_at is not None:
            self.time_passes(int((upcoming.next_run_at - self.now).total_seconds()) + late)

    def step_to(self, when: dt.datetime) -> None:
        self.serve_alone(when)  # what fell due a grace before `when`
        self.now = self.device.checked = max(self.now, when)
        if self.beat_up:
            meal_services.meal_slots_dispatch(now=self.now, enqueue=lambda ids: None)
        if self.device.online:
            refused = FeedCommand.objects.filter(feeder=self.feeder, status=CommandStatus.FAILED)
            self.device.skipped |= {str(k) for k in refused.values_list("slot_key", flat=True)}  # SlotSkip pushes
            self.feed_now()
            self.serve_alone(self.now)
            self.upload(data=None, repeat=False)  # online: each served meal is sent at once
            feeder = Feeder.objects.get(pk=self.feeder.pk)
            presence_services.feeder_heartbeat(feeder=feeder, food_level_percent=None, signal_dbm=None, now=self.now)

    @rule()
    def reconcile(self) -> None:
        command_services.feed_commands_expire(commands=FeedCommand.objects.all(), now=self.now)
        offline_services.slots_unreported_settle(now=self.now)

    # -- what must always hold ---------------------------------------------------------------------
    @invariant()
    def each_slot_is_dispensed_at_most_once(self) -> None:
        assert all(n == 1 for n in self.device.dispensed.values()), self.device.dispensed

    @invariant()
    def each_slot_has_one_command_and_at_most_one_feeding(self) -> None:
        keyed = FeedCommand.objects.filter(slot_key__isnull=False)
        assert all(row["n"] == 1 for row in keyed.values("schedule", "slot_key").annotate(n=Count("id")))
        fed = FeedEvent.objects.filter(command__slot_key__isnull=False).values("command__schedule", "command__slot_key")
        assert all(row["n"] == 1 for row in fed.annotate(n=Count("id")))

    @invariant()
    def every_slot_the_device_reported_is_done(self) -> None:
        for key, pk in self.device.reported.items():
            assert FeedCommand.objects.get(pk=pk).status == CommandStatus.DONE, key

    @invariant()
    def no_slot_the_device_served_is_missed(self) -> None:
        missed = FeedCommand.objects.filter(status=CommandStatus.MISSED).values_list("slot_key", flat=True)
        uploaded = set(self.device.dispensed) - {str(fed["slot"]) for fed in self.device.queue}
        assert not set(missed) & uploaded

    @invariant()
    def the_allowance_is_never_exceeded(self) -> None:
        for fed_at in FeedEvent.objects.values_list("fed_at", flat=True):
            allowance = pet_allowance(pet=self.pet, now=fed_at)
            assert allowance.eaten_grams <= allowance.allowance_grams


@pytest.mark.long
def test_offline_meal_properties_hold_for_any_sequence_of_steps() -> None:
    run_state_machine_as_test(
        OfflineMeals,
        settings=settings(
            max_examples=40, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
