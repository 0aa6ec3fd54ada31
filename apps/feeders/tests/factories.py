from __future__ import annotations

import factory

from apps.accounts.models import User
from apps.accounts.tests.factories import UserFactory
from apps.feeders.models import Beacon, Feeder, MealSchedule, Pet
from apps.households.selectors import household_contact
from apps.households.tests.factories import household_of


def mac(n: int, prefix: str = "AA") -> str:
    return f"{prefix}:00:00:00:{n // 256 % 256:02X}:{n % 256:02X}"


class FeederFactory(factory.django.DjangoModelFactory[Feeder]):
    class Meta:
        model = Feeder

    class Params:
        owner = factory.SubFactory(UserFactory)  # the household is the owner's own (their first)

    household = factory.LazyAttribute(lambda o: household_of(o.owner))
    name = factory.Sequence(lambda n: f"Kitchen feeder {n}")
    mac = factory.Sequence(lambda n: mac(n, "F0"))


class BeaconFactory(factory.django.DjangoModelFactory[Beacon]):
    class Meta:
        model = Beacon

    class Params:
        owner = factory.SubFactory(UserFactory)  # the household is the owner's own (their first)

    household = factory.LazyAttribute(lambda o: household_of(o.owner))
    name = factory.Sequence(lambda n: f"Collar {n}")
    mac = factory.Sequence(lambda n: mac(n, "B0"))


class PetFactory(factory.django.DjangoModelFactory[Pet]):
    class Meta:
        model = Pet

    class Params:
        owner = factory.SubFactory(UserFactory)  # the household is the owner's own (their first)

    household = factory.LazyAttribute(lambda o: household_of(o.owner))
    name = factory.Sequence(lambda n: f"Whiskers {n}")
    allowance_grams = 80


class ScheduleFactory(factory.django.DjangoModelFactory[MealSchedule]):
    class Meta:
        model = MealSchedule

    pet = factory.SubFactory(PetFactory)
    feeder = factory.SubFactory(FeederFactory, household=factory.SelfAttribute("..pet.household"))
    times = factory.LazyFunction(lambda: ["07:30"])
    days_of_week = factory.LazyFunction(lambda: [1, 2, 3, 4, 5, 6, 7])
    grams = 20


def owner_of(row: Feeder | Pet) -> User:
    """The first owner of the row's household: who made it, in these tests."""
    return household_contact(household_id=row.household_id)
