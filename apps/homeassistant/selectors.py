"""What the bridge publishes and the pages show: one household at a time, that household's rows only.

The bridge reads a household's feeders, pets and schedules as the household's: publishing
follows the link, not whoever is a member today. Acting (presses, switches) goes through the
services as the member who turned the link on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from apps.accounts.models import User
from apps.feeders.events import catalog_group
from apps.feeders.models import Feeder, FeedEvent, MealSchedule, Pet
from apps.feeders.selectors.allowance import pet_allowance
from apps.feeders.selectors.pets import pet_grams_by_day
from apps.homeassistant import discovery
from apps.homeassistant.discovery import FeederInfo, PetInfo, ScheduleInfo, Topics, bridge_availability_topic
from apps.homeassistant.models import HomeAssistantLink
from apps.households.errors import HouseholdNotFound
from apps.households.groups import household_group
from apps.households.models import Household
from apps.households.roles import Role
from apps.households.selectors import household_default, household_list, membership_get

ROLE_TO_ENABLE = Role.MEMBER  # turning the link on or off, and what its presses do: a member's doings


@dataclass(frozen=True)
class HouseholdLink:
    """A household of the user's, its link (never saved by reading), and whether the user may toggle it."""

    household: Household
    link: HomeAssistantLink
    role: Role

    @property
    def may_change(self) -> bool:
        return self.role.allows(ROLE_TO_ENABLE)


def _link_of(household: Household) -> HomeAssistantLink:
    found = HomeAssistantLink.objects.filter(household=household).select_related("enabled_by").first()
    return found or HomeAssistantLink(household=household)


def home_assistant_get(*, user: User, household_id: int | None) -> HouseholdLink:
    """One household's link (the user's default household when none is named): any member may read it."""
    if household_id is None:
        default = household_default(user=user)
        if default is None:
            raise HouseholdNotFound
        household_id = default.pk
    membership = membership_get(user=user, household_id=household_id)
    return HouseholdLink(
        household=membership.household, link=_link_of(membership.household), role=Role(membership.role)
    )


def home_assistant_list(*, user: User) -> list[HouseholdLink]:
    """Every household of the user's with its link, oldest membership first."""
    households = list(household_list(user=user))
    links = {
        link.household_id: link
        for link in HomeAssistantLink.objects.filter(household__in=households).select_related("enabled_by")
    }
    return [
        HouseholdLink(household=h, link=links.get(h.pk) or HomeAssistantLink(household=h), role=Role(h.role))  # type: ignore[attr-defined]
        for h in households
    ]


def home_assistant_bridge() -> dict[str, Any]:
    """What every household shares: whether the server has a broker, and the bridge's availability topic."""
    return {
        "broker_configured": bool(settings.MQTT_URL),
        "availability_topic": bridge_availability_topic(settings.MQTT_TOPIC_PREFIX),
    }


def home_assistant_addresses(*, household_id: int) -> dict[str, Any]:
    """Where a household's Home Assistant is pointed: its discovery prefix and the bridge's availability topic."""
    root = Topics(prefix=settings.MQTT_TOPIC_PREFIX, household_id=household_id).root
    return {**home_assistant_bridge(), "discovery_prefix": root}


def home_assistant_household_ids() -> set[int]:
    return set(HomeAssistantLink.objects.filter(enabled=True).values_list("household_id", flat=True))


def home_assistant_groups() -> set[str]:
    """The channel-layer groups the bridge listens to: live events and catalog changes of every
    household with Home Assistant on."""
    households = home_assistant_household_ids()
    return {household_group(h) for h in households} | {catalog_group(h) for h in households}


def home_assistant_link(*, household_id: int) -> HomeAssistantLink | None:
    """A household's link if it is on (with who turned it on), else None: nothing of it is obeyed."""
    return (
        HomeAssistantLink.objects.filter(household_id=household_id, enabled=True).select_related("enabled_by").first()
    )


@dataclass
class Snapshot:
    """Everything retained for one household: discovery configs and states, by topic."""

    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: dict[str, dict[str, Any] | str] = field(default_factory=dict)
    feeder_ids: set[int] = field(default_factory=set)
    pet_ids: set[int] = field(default_factory=set)


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


def pet_state(*, pet: Pet) -> dict[str, Any]:
    last = FeedEvent.objects.filter(pet=pet).order_by("-fed_at", "-id").first()
    return discovery.pet_state(
        eaten_today=pet_grams_by_day(pet=pet, days=1)[-1][1],
        allowance_left=pet_allowance(pet=pet).remaining_grams,
        last_feeding=last.fed_at if last is not None else None,
    )


def home_assistant_snapshot(*, household_id: int, prefix: str) -> Snapshot:
    topics, snapshot = Topics(prefix=prefix, household_id=household_id), Snapshot()
    for feeder in Feeder.objects.filter(household_id=household_id).order_by("id"):
        snapshot.feeder_ids.add(feeder.pk)
        snapshot.configs.update(discovery.feeder_configs(topics, feeder_info(feeder)))
        snapshot.states[topics.feeder(feeder.pk, "state")] = feeder_state(feeder)
    pets = {pet.pk: pet for pet in Pet.objects.filter(household_id=household_id).order_by("id")}
    for pet in pets.values():
        snapshot.pet_ids.add(pet.pk)
        snapshot.configs.update(discovery.pet_configs(topics, pet_info(pet)))
        snapshot.states[topics.pet(pet.pk, "state")] = pet_state(pet=pet)
    for schedule in MealSchedule.objects.filter(pet__household_id=household_id).order_by("id"):
        pet = pets[schedule.pet_id]
        snapshot.configs.update(discovery.schedule_configs(topics, schedule_info(schedule), pet_info(pet)))
        snapshot.states[topics.schedule(schedule.pk, "state")] = discovery.switch_state(schedule.enabled)
    return snapshot


def pet_state_of(*, household_id: int, pet_id: int) -> dict[str, Any] | None:
    pet = Pet.objects.filter(household_id=household_id, pk=pet_id).first()
    return pet_state(pet=pet) if pet is not None else None


def pet_name(*, household_id: int, pet_id: int | None) -> str | None:
    if pet_id is None:
        return None
    pet = Pet.objects.filter(household_id=household_id, pk=pet_id).first()
    return pet.name if pet is not None else None


def schedule_feeder_id(*, household_id: int, schedule_id: int) -> int | None:
    """The feeder of one of the household's schedules, or None."""
    found = MealSchedule.objects.filter(pet__household_id=household_id, pk=schedule_id).values_list("feeder_id")
    return next((feeder_id for (feeder_id,) in found), None)
