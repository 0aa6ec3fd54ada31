"""Housekeeping: what has outlived its use goes, what is live stays."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from apps.feeders.models import DeviceToken, Feeder, PairingCode, Visit
from apps.feeders.services import presence as presence_services
from apps.feeders.tests.factories import FeederFactory
from apps.tasks.services import housekeeping_run

pytestmark = pytest.mark.django_db


def test_it_removes_expired_sessions_codes_dead_tokens_and_old_history(settings: object) -> None:
    now = timezone.now()
    old, live = SessionStore(), SessionStore()
    old.set_expiry(now - dt.timedelta(seconds=1))
    old.create()
    live.create()
    feeder = FeederFactory()
    PairingCode.objects.create(feeder=feeder, code_hash="a" * 64, expires_at=now - dt.timedelta(minutes=1))
    fresh = PairingCode.objects.create(feeder=feeder, code_hash="b" * 64, expires_at=now + dt.timedelta(minutes=5))
    DeviceToken.objects.create(
        feeder=feeder, prefix="dead", secret_hash="c" * 64, revoked_at=now - dt.timedelta(days=2)
    )
    kept = DeviceToken.objects.create(feeder=feeder, prefix="live", secret_hash="d" * 64)
    Visit.objects.create(feeder=feeder, beacon_mac="B0:00:00:00:00:01", seen_at=now - dt.timedelta(days=400))
    recent = Visit.objects.create(feeder=feeder, beacon_mac="B0:00:00:00:00:01", seen_at=now)

    removed = housekeeping_run(now=now)

    assert removed["sessions"] == removed["pairing codes"] == removed["device tokens"] == removed["visits"] == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert list(PairingCode.objects.all()) == [fresh]
    assert list(DeviceToken.objects.all()) == [kept]
    assert list(Visit.objects.all()) == [recent]


def test_a_feeder_left_online_by_a_dead_web_process_is_marked_offline() -> None:
    stale = FeederFactory(is_online=True, connection_id="gone", last_seen_at=timezone.now() - dt.timedelta(hours=1))
    alive = FeederFactory(is_online=True, connection_id="here", last_seen_at=timezone.now())
    assert presence_services.feeders_offline_detect() == 1
    assert not Feeder.objects.get(pk=stale.pk).is_online
    assert Feeder.objects.get(pk=alive.pk).is_online
