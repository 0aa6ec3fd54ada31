"""Home Assistant's writes: a household's link on or off, and commands that go through the feeders' own services.

A command from Home Assistant is the household's, acted out by the member who turned the link
on, with the source `home_assistant`: the role rule (`membership_require`) decides whether they
still may, the feeders' selectors and services do the rest, and the allowance rule decides it.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from pydantic import BaseModel, Field, ValidationError

from apps.accounts.models import User
from apps.api.messages.publish import group_event
from apps.api.problems import Problem
from apps.feeders.models import FeedCommand, FeedSource
from apps.feeders.models.feeding import MAX_PORTION_GRAMS
from apps.feeders.selectors.devices import feeder_get
from apps.feeders.selectors.pets import pet_get
from apps.feeders.selectors.schedules import schedule_get
from apps.feeders.services.commands import feed_command_create
from apps.feeders.services.schedules import schedule_update
from apps.homeassistant.models import HomeAssistantLink
from apps.homeassistant.selectors import ROLE_TO_ENABLE
from apps.households.errors import HouseholdNotFound, RoleForbidden
from apps.households.roles import Role
from apps.households.selectors import membership_require
from apps.households.services import household_for_write

LINKS_GROUP = "homeassistant-links"  # the bridge: which households have Home Assistant on changed
LINKS_CHANGED = "homeassistant.links"


class Refused(Exception):  # noqa: N818 - a refusal, told to Home Assistant on the result topic
    pass


class FeedPress(BaseModel):
    """What a "Feed now" press (or an automation) publishes on a feeder's feed topic."""

    grams: int = Field(ge=1, le=MAX_PORTION_GRAMS)
    pet_id: int | None = None


def home_assistant_set(*, user: User, household_id: int | None, enabled: bool) -> HomeAssistantLink:
    """Turn a household's link on or off (the user's default household when none is named).

    Needs a member's role (404 for a household not theirs, 403 for a viewer). Turning it on
    makes the user the one Home Assistant's presses act as, even when it was on already: a
    member takes over a link whose enabler left by turning it on again.
    """
    with transaction.atomic():
        household = household_for_write(user=user, household_id=household_id, role=ROLE_TO_ENABLE)
        link, _ = HomeAssistantLink.objects.select_for_update().get_or_create(household=household)
        if enabled and not (link.enabled and link.enabled_by_id == user.pk):
            link.enabled, link.enabled_by, link.enabled_at = True, user, timezone.now()
            link.save()
        elif not enabled and link.enabled:
            link.enabled, link.enabled_by, link.enabled_at = False, None, None
            link.save()
        group_event(LINKS_GROUP, {"type": LINKS_CHANGED, "household_id": household.pk})
    return link


def _actor(link: HomeAssistantLink) -> User:
    """Who a press acts as: the member who turned the link on, if they still may (the one role rule)."""
    user = link.enabled_by
    if user is None:
        raise Refused("the member who turned Home Assistant on is gone: a member must turn it on again")
    try:
        membership_require(user=user, household_id=link.household_id, role=ROLE_TO_ENABLE)
    except HouseholdNotFound as exc:
        raise Refused(
            "the member who turned Home Assistant on left the household: a member must turn it on again"
        ) from exc
    except RoleForbidden as exc:
        raise Refused(f"the member who turned Home Assistant on may no longer: {exc}") from exc
    return user


def _press(payload: bytes) -> FeedPress:
    try:
        text = payload.decode()
        return FeedPress(grams=int(text)) if text.strip().isdigit() else FeedPress.model_validate(json.loads(text))
    except (UnicodeDecodeError, ValueError, ValidationError) as exc:
        raise Refused(f'expected grams, or {{"grams": 1..{MAX_PORTION_GRAMS}, "pet_id": …}}') from exc


def home_assistant_feed(*, link: HomeAssistantLink, feeder_id: int, payload: bytes) -> FeedCommand:
    """A "Feed now" press on the household's topics: a feed command from Home Assistant, or Refused with the reason."""
    press = _press(payload)
    user = _actor(link)
    try:
        feeder = feeder_get(user=user, feeder_id=feeder_id, role=Role.MEMBER)
        pet = pet_get(user=user, pet_id=press.pet_id, role=Role.MEMBER) if press.pet_id is not None else None
        # The enabler may be in other households too: only this household's rows answer its topics.
        if feeder.household_id != link.household_id or (pet is not None and pet.household_id != link.household_id):
            raise Http404
        # The member who turned the link on ordered it: their automation or their press, under their role.
        return feed_command_create(
            feeder=feeder, pet=pet, grams=press.grams, source=FeedSource.HOME_ASSISTANT, ordered_by=user
        )
    except Http404 as exc:
        raise Refused("no such feeder or pet") from exc
    except Problem as exc:  # the allowance, a pet the feeder does not serve
        raise Refused(str(exc)) from exc


def home_assistant_switch(*, link: HomeAssistantLink, schedule_id: int, payload: bytes) -> bool:
    """A schedule switch toggled on the household's topics: the schedule turns on or off; returns its state."""
    if payload not in (b"ON", b"OFF"):
        raise Refused("expected ON or OFF")
    user = _actor(link)
    try:
        schedule = schedule_get(user=user, schedule_id=schedule_id, role=Role.MEMBER)
        if schedule.pet.household_id != link.household_id:
            raise Http404
        return schedule_update(schedule=schedule, data={"enabled": payload == b"ON"}).enabled
    except Http404 as exc:
        raise Refused("no such schedule") from exc
    except Problem as exc:
        raise Refused(str(exc)) from exc
