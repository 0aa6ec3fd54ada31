from __future__ import annotations

from apps.accounts.models import User
from apps.notifications.models import AlertPreference


def alert_preferences_get(*, owner: User) -> AlertPreference:
    """The owner's alert preferences; without a row, the defaults (every alert), unsaved."""
    return AlertPreference.objects.filter(owner=owner).first() or AlertPreference(owner=owner)
