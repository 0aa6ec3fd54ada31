"""What the bridge publishes, read through the feeders' selectors: one owner at a time, the rows of
that owner's households only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser

from apps.accounts.models import User
from apps.feeders.events import catalog_group
from apps.feeders.models import Feeder, MealSchedule, Pet
from apps.feeders.selectors.allowance import pet_allowance
from apps.feeders.selectors.devices import feeder_list
from apps.feeders.selectors.pets import feed_event_list, pet_grams_by_day, pet_list
from apps.feeders.selectors.schedules import schedule_list
from apps.homeassistant import discovery
from apps.homeassistant.discovery import FeederInfo, PetInfo, ScheduleInfo, Topics, bridge_availability_topic
from apps.homeassistant.models import HomeAssistantLink
from apps.households.groups import household_group
from apps.households.selectors import household_ids


def home_assistant_get(*, user: AbstractBaseUser) -> HomeAssistantLink:
    """The owner's setting; never saved here (off until the owner turns it on)."""
    return HomeAssistantLink.objects.filter(owner_id=user.pk).first() or HomeAssistantLink(owner_id=user.pk)


def home_assistant_addresses(*, owner_id: int) -> dict[str, Any]:
    """Where an owner points Home Assistant: their discovery prefix and the bridge's availability topic."""
    prefix = settings.MQTT_TOPIC_PREFIX
    return {
        "broker_configured": bool(settings.MQTT_URL),
        "discovery_prefix": Topics(prefix=prefix, owner_id=owner_id).root,
        "availability_topic": bridge_availability_topic(prefix),
    }


def home_assistant_owner_ids() -> set[int]:
    return set(HomeAssistantLink.objects.filter(enabled=True).values_list("owner_id", flat=True))


def home_assistant_groups() -> set[str]:
    """The channel-layer groups the bridge listens to: live events and catalog changes of every
    household that has an owner with Home Assistant on."""
    enabled = HomeAssistantLink.objects.filter(enabled=True).values("owner_id")
    households = household_ids(user_ids=enabled)
    return {household_group(h) for h in households} | {catalog_group(h) for h in households}


def home_assistant_owner(*, owner_id: int) -> User | None:
    """An owner who has Home Assistant on, or None."""
    return User.objects.filter(pk=owner_id, home_assistant__enabled=True).first()


@dataclass
class Snapshot:
    """Everything retained for one owner: discovery configs and states, by topic."""

    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: dict[str, dict[str, Any] | str] = field(default_factory=dict)
    feeder_ids: set[int] = field(default_factory=set)
    pet_ids: set[int] = field(default_factory=set)
    household_ids: set[int] = field(default_factory=set)


def feeder_info(feeder: Feeder) -> FeederInfo:
    return FeederInfo(id=feeder.pk, name=feeder.name, mac=feeder.mac, firmware_version=feeder.firmware_version)


def pet_info(pet: Pet) -> PetInfo:
    return PetInfo(id=pet.pk, name=pet.name)


def schedule_info(schedule: MealSchedule) -> ScheduleInfo:
    return ScheduleInfo(
        id=schedule.pk, pet_id=schedule.pet_id, label=f"{', '.join(schedule.times)} · {schedule.grams} g"
    )


def feeder_state(feeder: Feeder) -> dict[str, Any]:
    return discovery.feeder_state(
        online=feeder.is_online, food_level=feeder.food_level_percent, last_seen=feeder.last_seen_at,
        signal=feeder.signal_dbm,
    )  # fmt: skip


def pet_state(*, user: User, pet: Pet) -> dict[str, Any]:
    last = feed_event_list(user=user, pet=pet).first()
    return discovery.pet_state(
        eaten_today=pet_grams_by_day(pet=pet, days=1)[-1][1],
        allowance_left=pet_allowance(pet=pet).remaining_grams,
        last_feeding=last.fed_at if last is not None else None,
    )


def home_assistant_snapshot(*, user: User, prefix: str) -> Snapshot:
    topics, snapshot = Topics(prefix=prefix, owner_id=user.pk), Snapshot()
    snapshot.household_ids = household_ids(user_ids=[user.pk])
    for feeder in feeder_list(user=user):
        snapshot.feeder_ids.add(feeder.pk)
        snapshot.configs.update(discovery.feeder_configs(topics, feeder_info(feeder)))
        snapshot.states[topics.feeder(feeder.pk, "state")] = feeder_state(feeder)
    pets = {pet.pk: pet for pet in pet_list(user=user)}
    for pet in pets.values():
        snapshot.pet_ids.add(pet.pk)
        snapshot.configs.update(discovery.pet_configs(topics, pet_info(pet)))
        snapshot.states[topics.pet(pet.pk, "state")] = pet_state(user=user, pet=pet)
    for schedule in schedule_list(user=user):
        pet = pets[schedule.pet_id]
        snapshot.configs.update(discovery.schedule_configs(topics, schedule_info(schedule), pet_info(pet)))
        snapshot.states[topics.schedule(schedule.pk, "state")] = discovery.switch_state(schedule.enabled)
    return snapshot


def pet_state_of(*, user: User, pet_id: int) -> dict[str, Any] | None:
    pet = pet_list(user=user).filter(pk=pet_id).first()
    return pet_state(user=user, pet=pet) if pet is not None else None


def pet_name(*, user: User, pet_id: int | None) -> str | None:
    if pet_id is None:
        return None
    pet = pet_list(user=user).filter(pk=pet_id).first()
    return pet.name if pet is not None else None
