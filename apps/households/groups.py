"""The channel-layer group of a household: every member's sockets listen to it."""

from __future__ import annotations

JOINED = "household.joined"  # sent to a user's own group: their sockets start listening to `household_id`
LEFT = "household.left"  # ...stop listening to it (removed, or left)


def household_group(household_id: int) -> str:
    return f"household-{household_id}"
