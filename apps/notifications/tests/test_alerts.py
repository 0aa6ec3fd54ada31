"""Alerts: one incident row and one mail per incident, per-owner preferences, close on recovery."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import TestCase
from django.utils import timezone

from apps.feeders.models import Feeder
from apps.feeders.services.alerts import alerts_check
from apps.feeders.tests.factories import FeederFactory, owner_of
from apps.notifications import services
from apps.notifications.models import Alert, AlertKind, AlertPreference

pytestmark = pytest.mark.django_db


def silent_feeder(minutes: int, **fields: object) -> Feeder:
    return FeederFactory(is_online=False, last_seen_at=timezone.now() - dt.timedelta(minutes=minutes), **fields)


def test_an_offline_feeder_is_alerted_once_however_often_the_check_runs() -> None:
    feeder, recent = silent_feeder(45), silent_feeder(5)
    with TestCase.captureOnCommitCallbacks() as mails:
        for _ in range(3):
            alerts_check()
    alert = Alert.objects.get()
    assert (alert.kind, alert.key, alert.owner) == (AlertKind.FEEDER_OFFLINE, f"feeder:{feeder.pk}", owner_of(feeder))
    assert len(mails) == 1  # queued once, after commit
    assert not Alert.objects.filter(key=f"feeder:{recent.pk}").exists()


def test_back_online_ends_the_incident_and_the_next_one_mails_again() -> None:
    feeder = silent_feeder(45)
    alerts_check()
    Feeder.objects.filter(pk=feeder.pk).update(is_online=True)
    assert alerts_check()["closed"] == 1
    Feeder.objects.filter(pk=feeder.pk).update(is_online=False)
    alerts_check()
    assert Alert.objects.filter(kind=AlertKind.FEEDER_OFFLINE).count() == 2
    assert Alert.objects.filter(closed_at__isnull=True).count() == 1


def test_low_food_opens_at_the_threshold_and_ends_ten_points_over_it(settings: object) -> None:
    feeder = FeederFactory(food_level_percent=12, is_online=True, last_seen_at=timezone.now())
    alerts_check()
    alert = Alert.objects.get(kind=AlertKind.LOW_FOOD)
    Feeder.objects.filter(pk=feeder.pk).update(food_level_percent=20)  # refilled a little: still low-ish
    alerts_check()
    assert Alert.objects.get(pk=alert.pk).closed_at is None
    Feeder.objects.filter(pk=feeder.pk).update(food_level_percent=90)
    alerts_check()
    assert Alert.objects.get(pk=alert.pk).closed_at is not None


def test_an_owner_who_switched_an_alert_off_gets_no_mail() -> None:
    feeder = silent_feeder(45)
    services.alert_preferences_update(owner=owner_of(feeder), data={"feeder_offline": False})
    with TestCase.captureOnCommitCallbacks() as mails:
        alerts_check()
    assert (Alert.objects.get().mailed_at, mails) == (None, [])


def test_unknown_preferences_are_refused_and_change_nothing() -> None:
    feeder = silent_feeder(1)
    with pytest.raises(ValueError, match="not an alert: pizza"):
        services.alert_preferences_update(owner=owner_of(feeder), data={"pizza": False})
    assert not AlertPreference.objects.exists()
