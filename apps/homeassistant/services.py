"""Home Assistant's writes: the owner's switch, and commands that go through the feeders' own services.

A command from Home Assistant is the owner's, with the source `home_assistant`: the same
selectors scope it to the owner's rows and the same allowance rule decides it.
"""

from __future__ import annotations

import json

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import Http404
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
from apps.households.roles import Role

OWNERS_GROUP = "homeassistant-owners"  # the bridge: who has Home Assistant on changed
OWNERS_CHANGED = "homeassistant.owners"


class Refused(Exception):  # noqa: N818 - a refusal, told to Home Assistant on the result topic
    pass


class FeedPress(BaseModel):
    """What a "Feed now" press (or an automation) publishes on a feeder's feed topic."""

    grams: int = Field(ge=1, le=MAX_PORTION_GRAMS)
    pet_id: int | None = None


def home_assistant_set(*, user: AbstractBaseUser, enabled: bool) -> HomeAssistantLink:
    with transaction.atomic():
        link, _ = HomeAssistantLink.objects.update_or_create(owner_id=user.pk, defaults={"enabled": enabled})
        group_event(OWNERS_GROUP, {"type": OWNERS_CHANGED, "owner_id": user.pk})
    return link


def _press(payload: bytes) -> FeedPress:
    try:
        text = payload.decode()
        return FeedPress(grams=int(text)) if text.strip().isdigit() else FeedPress.model_validate(json.loads(text))
    except (UnicodeDecodeError, ValueError, ValidationError) as exc:
        raise Refused(f'expected grams, or {{"grams": 1..{MAX_PORTION_GRAMS}, "pet_id": …}}') from exc


def home_assistant_feed(*, user: User, feeder_id: int, payload: bytes) -> FeedCommand:
    """A "Feed now" press: a feed command from Home Assistant, or Refused with the reason."""
    press = _press(payload)
    try:
        feeder = feeder_get(user=user, feeder_id=feeder_id, role=Role.MEMBER)
        pet = pet_get(user=user, pet_id=press.pet_id, role=Role.MEMBER) if press.pet_id is not None else None
        # The link's owner ordered it: their automation or their press, under their role.
        return feed_command_create(
            feeder=feeder, pet=pet, grams=press.grams, source=FeedSource.HOME_ASSISTANT, ordered_by=user
        )
    except Http404 as exc:
        raise Refused("no such feeder or pet") from exc
    except Problem as exc:  # the allowance, a pet of another household, a viewer's role
        raise Refused(str(exc)) from exc


def home_assistant_switch(*, user: User, schedule_id: int, payload: bytes) -> bool:
    """A schedule switch toggled: the schedule turns on or off; returns its state."""
    if payload not in (b"ON", b"OFF"):
        raise Refused("expected ON or OFF")
    try:
        schedule = schedule_get(user=user, schedule_id=schedule_id, role=Role.MEMBER)
        return schedule_update(schedule=schedule, data={"enabled": payload == b"ON"}).enabled
    except Http404 as exc:
        raise Refused("no such schedule") from exc
    except Problem as exc:  # a viewer's role
        raise Refused(str(exc)) from exc
