from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import User
from apps.notifications.models import Alert, AlertKind, AlertPreference


def alert_preferences_get(*, owner: User) -> AlertPreference:
    """The owner's alert preferences; without a row, the defaults (every alert), unsaved."""
    return AlertPreference.objects.filter(owner=owner).first() or AlertPreference(owner=owner)


def alerts_open(*, kind: AlertKind) -> QuerySet[Alert]:
    """The open incidents of one kind (a subquery for checks that open only what is not open yet)."""
    return Alert.objects.filter(kind=kind, closed_at__isnull=True)
