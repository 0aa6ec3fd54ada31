"""Feed commands, as the members of their feeder's household see them."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import User
from apps.feeders.models import FeedCommand
from apps.households.selectors import member_of


def command_list(*, user: User, feeder_id: int | None = None, status: str | None = None) -> QuerySet[FeedCommand]:
    commands = FeedCommand.objects.filter(member_of(user, path="feeder__household")).select_related("ordered_by")
    if feeder_id is not None:
        commands = commands.filter(feeder_id=feeder_id)
    if status:
        commands = commands.filter(status=status)
    return commands


def command_get(*, user: User, command_id: int) -> FeedCommand:
    commands = FeedCommand.objects.filter(member_of(user, path="feeder__household")).select_related("ordered_by")
    return get_object_or_404(commands, pk=command_id)
