from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet

from apps.notifications.models import Alert, AlertKind, AlertPreference


def alert_preferences_get(*, owner: AbstractBaseUser) -> AlertPreference:
    """The owner's alert preferences; without a row, the defaults (every alert), unsaved."""
    return AlertPreference.objects.filter(owner_id=owner.pk).first() or AlertPreference(owner_id=owner.pk)


def alerts_open(*, kind: AlertKind) -> QuerySet[Alert]:
    """The open incidents of one kind (a subquery for checks that open only what is not open yet)."""
    return Alert.objects.filter(kind=kind, closed_at__isnull=True)
