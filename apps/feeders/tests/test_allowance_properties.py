"""Property-based (hypothesis, stateful): the four paths that feed a pet share one allowance.

Feed now, a scheduled meal, the device's MayFeed and its Fed, interleaved with
the feeder answering (or failing) the commands and time passing. Whatever the
order: the pet never gets more than its allowance in a period, every done
command is counted, each path decides as a plain model of the rule would
(eaten in the period plus open commands, each once), and whenever one path
refuses an amount, the other three refuse it too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from apps.accounts.tests.factories import UserFactory
from apps.feeders.errors import AllowanceExceeded
from apps.feeders.models import OPEN_COMMAND, CommandStatus, FeedCommand, FeedEvent, FeedSource, MealSchedule
from apps.feeders.selectors.allowance import pet_allowance
from apps.feeders.services import commands as command_services
from apps.feeders.services import meals as meal_services
from apps.feeders.services import pets as pet_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory

pytestmark = pytest.mark.django_db

ALLOWANCE = 100  # grams per period
PERIOD = dt.timedelta(hours=6)  # from 00:00 UTC: the model cuts periods with plain arithmetic
START = dt.datetime(2026, 6, 10, 3, 0, tzinfo=dt.UTC)
GRAMS = st.integers(1, 70)
JUMPS = [60, 300, 900, 3600, 4 * 3600]  # seconds; whole minutes, so that a meal can fall due at `now`


class Rollback(Exception):
    """Undo a path tried only to see what it would decide."""


def period_start(at: dt.datetime) -> dt.datetime:
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + PERIOD * ((at - midnight) // PERIOD)


class Allowance(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        for model in (FeedEvent, FeedCommand, MealSchedule):
            model.objects.all().delete()
        owner = UserFactory()
        self.feeder = FeederFactory(owner=owner)
        self.beacon = BeaconFactory(owner=owner)
        self.pet = PetFactory(
            owner=owner, beacon=self.beacon, allowance_grams=ALLOWANCE, period_minutes=360,
            period_anchor=dt.time(0, 0), time_zone="UTC",
        )  # fmt: skip
        self.now = START
        self.fed: list[tuple[dt.datetime, int]] = []  # the model: what was counted, and when
        self.open: dict[int, int] = {}  # open command -> grams

    # -- the model ---------------------------------------------------------------------------
    def model_allows(self, grams: int) -> bool:
        start = period_start(self.now)
        eaten = sum(g for at, g in self.fed if start <= at < start + PERIOD)
        return 0 < grams <= ALLOWANCE - eaten - sum(self.open.values())

    # -- the four paths, each answering: accepted? ---------------------------------------------
    def feed_now(self, grams: int) -> bool:
        try:
            command = command_services.feed_command_create(
                feeder=self.feeder, pet=self.pet, grams=grams, source=FeedSource.OWNER, now=self.now
            )
        except AllowanceExceeded:
            return False
        self.open[command.pk] = grams
        return True

    def scheduled_meal(self, grams: int) -> bool:
        # One weekday only: the schedule falls due now and not again while the machine runs.
        schedule = schedule_services.schedule_create(
            pet=self.pet, feeder=self.feeder, times=[f"{self.now:%H:%M}"], days_of_week=[self.now.isoweekday()],
            grams=grams, time_zone="UTC", now=self.now - dt.timedelta(minutes=1),
        )  # fmt: skip
        meal_services.meal_slots_dispatch(now=self.now, enqueue=lambda ids: None)
        command = FeedCommand.objects.get(schedule=schedule)
        if command.status != CommandStatus.PENDING:
            assert (command.status, command.error) == (CommandStatus.FAILED, "over the pet's allowance")
            return False
        self.open[command.pk] = grams
        return True

    def may_feed(self, grams: int) -> bool:
        pet, decision = pet_services.feeder_may_feed(
            feeder=self.feeder, beacon_mac=self.beacon.mac, grams=grams, now=self.now
        )
        assert pet is not None
        assert decision is not None
        return decision.allowed

    def device_fed(self, grams: int) -> bool:
        try:
            pet_services.feeder_fed(
                feeder=self.feeder, beacon_mac=self.beacon.mac, grams=grams, event_id=uuid.uuid4().hex, now=self.now
            )
        except AllowanceExceeded:
            return False
        self.fed.append((self.now, grams))
        return True

    def paths(self) -> list[Callable[[int], bool]]:
        return [self.feed_now, self.scheduled_meal, self.may_feed, self.device_fed]

    def ask(self, path: Callable[[int], bool], grams: int) -> None:
        expected = self.model_allows(grams)
        assert path(grams) == expected, (path.__name__, grams)
        if not expected:
            self.every_path_refuses(grams)

    def every_path_refuses(self, grams: int) -> None:
        fed, open_commands = list(self.fed), dict(self.open)
        for path in self.paths():
            with contextlib.suppress(Rollback), transaction.atomic():
                assert not path(grams), (path.__name__, grams)
                raise Rollback
        self.fed, self.open = fed, open_commands

    # -- steps -------------------------------------------------------------------------------
    @rule(grams=GRAMS)
    def owner_presses_feed_now(self, grams: int) -> None:
        self.ask(self.feed_now, grams)

    @rule(grams=GRAMS)
    def a_meal_falls_due(self, grams: int) -> None:
        self.ask(self.scheduled_meal, grams)

    @rule(grams=GRAMS)
    def device_asks_may_feed(self, grams: int) -> None:
        self.ask(self.may_feed, grams)

    @rule(grams=GRAMS)
    def device_reports_fed(self, grams: int) -> None:
        self.ask(self.device_fed, grams)

    @precondition(lambda self: self.open)
    @rule(data=st.data(), done=st.booleans(), repeated=st.booleans())
    def feeder_answers(self, data: st.DataObject, done: bool, repeated: bool) -> None:
        command_id = data.draw(st.sampled_from(sorted(self.open)))
        grams = self.open.pop(command_id)
        for _ in range(2 if repeated else 1):  # a repeated result changes nothing
            command_services.feed_command_complete(
                feeder=self.feeder, command_id=command_id, done=done, grams_dispensed=grams, now=self.now
            )
        if done:
            self.fed.append((self.now, grams))

    @rule(seconds=st.sampled_from(JUMPS), reconcile=st.booleans())
    def time_passes(self, seconds: int, reconcile: bool) -> None:
        self.now += dt.timedelta(seconds=seconds)
        if reconcile:  # commands past their validity close: what they promised is free again
            command_services.feed_commands_expire(commands=FeedCommand.objects.all(), now=self.now)
            still_open = set(FeedCommand.objects.filter(status__in=OPEN_COMMAND).values_list("pk", flat=True))
            self.open = {pk: grams for pk, grams in self.open.items() if pk in still_open}

    # -- what must always hold ---------------------------------------------------------------
    @invariant()
    def the_pet_never_gets_more_than_its_allowance(self) -> None:
        per_period: dict[dt.datetime, int] = {}
        for fed_at, grams in FeedEvent.objects.filter(pet=self.pet).values_list("fed_at", "grams"):
            per_period[period_start(fed_at)] = per_period.get(period_start(fed_at), 0) + grams
        assert all(total <= ALLOWANCE for total in per_period.values()), per_period

    @invariant()
    def every_done_command_is_counted_once(self) -> None:
        for command in FeedCommand.objects.filter(status=CommandStatus.DONE):
            assert command.feed_events.count() == 1, command.error

    @invariant()
    def the_allowance_counts_what_the_model_counts(self) -> None:
        allowance = pet_allowance(pet=self.pet, now=self.now)
        start = period_start(self.now)
        assert allowance.eaten_grams == sum(g for at, g in self.fed if start <= at < start + PERIOD)
        assert allowance.promised_grams == sum(self.open.values())


def test_every_path_that_feeds_a_pet_keeps_to_one_allowance() -> None:
    run_state_machine_as_test(
        Allowance,
        settings=settings(
            max_examples=20, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
