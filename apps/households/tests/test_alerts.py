"""A household's alerts reach every member, each as their own preferences say, in their own time zone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.services.alerts import alerts_check
from apps.feeders.tests.factories import FeederFactory
from apps.households.roles import Role
from apps.households.tests.factories import household_of, member_add
from apps.notifications import services as mail_services
from apps.notifications.models import Alert, AlertPreference
from apps.notifications.services import OutgoingEmail


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> list[OutgoingEmail]:
    sent: list[OutgoingEmail] = []
    monkeypatch.setattr(mail_services, "_email_enqueue", sent.append)
    return sent


def test_every_member_who_wants_it_is_mailed_once_in_their_zone(
    alice: User, bob: User, charlie: User, outbox: list[OutgoingEmail], django_capture_on_commit_callbacks: Any
) -> None:
    household = household_of(alice)
    member_add(household, bob, Role.VIEWER)
    member_add(household, charlie, Role.MEMBER)
    AlertPreference.objects.create(owner=bob, feeder_offline=False)
    charlie.time_zone = "Asia/Tokyo"
    charlie.save(update_fields=["time_zone"])
    seen = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    FeederFactory(household=household, name="Kitchen", is_online=False, last_seen_at=seen)
    with django_capture_on_commit_callbacks(execute=True):
        alerts_check()
        alerts_check()
    alert = Alert.objects.get()
    assert (alert.owner, alert.mailed_at is not None) == (alice, True)  # the incident is the first owner's
    assert sorted(mail.to[0] for mail in outbox) == ["alice@example.com", "charlie@example.com"]
    [to_charlie] = [mail for mail in outbox if mail.to == ["charlie@example.com"]]
    assert f"{seen.astimezone(dt.timezone(dt.timedelta(hours=9))):%H:%M}" in to_charlie.text
