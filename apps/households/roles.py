"""The roles of a household's members: a plain enum, importable from any layer above."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    """What a member may do, from the most to the least."""

    OWNER = "owner", "Owner"  # the members and the household itself, and everything a member may do
    MEMBER = "member", "Member"  # feed, schedules, pets, feeders, pairing
    VIEWER = "viewer", "Viewer"  # reads and receives alerts; changes nothing

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what `needed` may."""
        return RANK[self] >= RANK[needed]


RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.OWNER: 2}
