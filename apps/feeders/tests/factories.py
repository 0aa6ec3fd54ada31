from __future__ import annotations

import factory

from apps.accounts.tests.factories import UserFactory
from apps.feeders.models import Beacon, Feeder, MealSchedule, Pet


def mac(n: int, prefix: str = "AA") -> str:
    return f"{prefix}:00:00:00:{n // 256 % 256:02X}:{n % 256:02X}"


class FeederFactory(factory.django.DjangoModelFactory[Feeder]):
    class Meta:
        model = Feeder

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Kitchen feeder {n}")
    mac = factory.Sequence(lambda n: mac(n, "F0"))


class BeaconFactory(factory.django.DjangoModelFactory[Beacon]):
    class Meta:
        model = Beacon

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Collar {n}")
    mac = factory.Sequence(lambda n: mac(n, "B0"))


class PetFactory(factory.django.DjangoModelFactory[Pet]):
    class Meta:
        model = Pet

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Whiskers {n}")
    allowance_grams = 80


class ScheduleFactory(factory.django.DjangoModelFactory[MealSchedule]):
    class Meta:
        model = MealSchedule

    pet = factory.SubFactory(PetFactory)
    feeder = factory.SubFactory(FeederFactory, owner=factory.SelfAttribute("..pet.owner"))
    times = factory.LazyFunction(lambda: ["07:30"])
    days_of_week = factory.LazyFunction(lambda: [1, 2, 3, 4, 5, 6, 7])
    grams = 20
