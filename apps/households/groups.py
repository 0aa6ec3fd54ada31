"""The channel-layer group of a household: every member's sockets listen to it."""

from __future__ import annotations

from typing import Any

from apps.api.messages import Message
from apps.api.messages.publish import push_event

JOINED = "household.joined"  # sent to a user's own group: their sockets start listening to `household_id`
LEFT = "household.left"  # ...stop listening to it (removed, or left)
HOUSEHOLD_KEY = "household_id"  # on a household's pushes: whose they are


def household_group(household_id: int) -> str:
    return f"household-{household_id}"


def household_push(household_id: int, message: Message) -> tuple[str, dict[str, Any]]:
    """A push to the sockets of every member, marked with its household: a socket that has just left
    the household drops a push that was already on its way to it."""
    return household_group(household_id), {**push_event(message), HOUSEHOLD_KEY: household_id}
