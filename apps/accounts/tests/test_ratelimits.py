"""Brute force: 50 bad log-ins a minute from one address end in 429 + Retry-After,
on allauth's log-in (page and app API) and on the admin's; failed log-ins are
counted per address and per account. The limits live in the real Redis cache;
every test comes from an address of its own."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client

from apps.accounts.models import User
from apps.accounts.ratelimits import Rate, hit
from apps.accounts.tests.factories import PASSWORD, UserFactory
from conftest import unique_ip

pytestmark = pytest.mark.django_db

ATTEMPTS = 50


@pytest.fixture
def mid_window() -> Iterator[None]:
    """The admin limit counts in fixed windows: hold the clock mid-minute, so that a
    test's attempts never straddle two windows on a slow machine."""
    with time_machine.travel(datetime(2031, 5, 6, 7, 8, 30, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def victim(db: None) -> User:
    """An account of this test's own: allauth also counts failures per address (in Redis,
    which outlives the test), and alice must still log in elsewhere."""
    return UserFactory(email=f"victim-{uuid.uuid4().hex[:12]}@example.com")


def bad_logins(post: object, count: int = ATTEMPTS) -> list[int]:
    return [post() for _ in range(count)]  # type: ignore[operator]


def assert_limited(statuses: list[int], responses_429: list[object]) -> None:
    assert 429 in statuses
    first = statuses.index(429)
    assert all(status == 429 for status in statuses[first:]), statuses  # and it stays shut
    for response in responses_429:
        assert 1 <= int(response["Retry-After"]) <= 60  # type: ignore[index]


def test_fifty_bad_logins_on_the_login_page_end_in_429_with_retry_after(victim: User) -> None:
    client, ip, last = Client(), unique_ip(), []

    def post() -> int:
        response = client.post("/accounts/login/", {"login": victim.email, "password": "wrong"}, REMOTE_ADDR=ip)
        if response.status_code == 429:
            last.append(response)
        return response.status_code

    statuses = bad_logins(post)
    assert statuses[0] == 200  # the form, with its error
    assert_limited(statuses, last[-1:])
    assert "Too many attempts" in last[-1].content.decode()
    # The right password does not get through either while the limit holds.
    blocked = client.post("/accounts/login/", {"login": victim.email, "password": PASSWORD}, REMOTE_ADDR=ip)
    assert blocked.status_code == 429


def test_fifty_bad_logins_through_the_app_api_end_in_429_with_retry_after(victim: User) -> None:
    client, ip, last = Client(), unique_ip(), []

    def post() -> int:
        response = client.post(
            "/_allauth/app/v1/auth/login",
            {"email": victim.email, "password": "wrong"},
            content_type="application/json",
            REMOTE_ADDR=ip,
        )
        if response.status_code == 429:
            last.append(response)
        return response.status_code

    statuses = bad_logins(post)
    assert statuses[0] == 400
    assert_limited(statuses, last[-1:])


def app_login(email: str, password: str, ip: str) -> Any:
    return Client().post(
        "/_allauth/app/v1/auth/login",
        {"email": email, "password": password},
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def test_five_failed_logins_on_one_account_from_anywhere_answer_429_until_the_window_ends(victim: User) -> None:
    statuses = [app_login(victim.email, "wrong", unique_ip()).status_code for _ in range(5)]
    assert statuses == [400] * 5  # the account's limit is 5 failures per 5 minutes
    refused = app_login(victim.email, "wrong", unique_ip())
    assert refused.status_code == 429
    assert refused["Retry-After"] == "300"
    assert refused.json()["status"] == 429
    # During the window the right password is refused too: else guessing goes on.
    assert app_login(victim.email, PASSWORD, unique_ip()).status_code == 429
    with time_machine.travel(time.time() + 300 + 1, tick=False):
        assert app_login(victim.email, PASSWORD, unique_ip()).status_code == 200


def test_ten_failed_logins_from_one_address_answer_429_on_any_account(victim: User) -> None:
    ip = unique_ip()
    statuses = [app_login(f"nobody-{i}-{ip}@example.com", "wrong", ip).status_code for i in range(10)]
    assert statuses == [400] * 10
    refused = app_login(victim.email, PASSWORD, ip)
    assert refused.status_code == 429
    assert 60 <= int(refused["Retry-After"]) <= 300
    assert app_login(victim.email, PASSWORD, unique_ip()).status_code == 200


def test_the_login_page_answers_429_to_failed_logins_on_one_account(victim: User) -> None:
    for _ in range(5):
        Client().post("/accounts/login/", {"login": victim.email, "password": "wrong"}, REMOTE_ADDR=unique_ip())
    refused = Client().post("/accounts/login/", {"login": victim.email, "password": PASSWORD}, REMOTE_ADDR=unique_ip())
    assert refused.status_code == 429
    assert refused["Retry-After"] == "300"
    assert "Too many attempts" in refused.content.decode()


def test_fifty_bad_logins_on_the_admin_end_in_429_with_retry_after(db: None, mid_window: None) -> None:
    User.objects.create_superuser(email="ops@example.com", password="the-real-admin-pw-77")
    client, ip, last, guesses = Client(), unique_ip(), [], iter(range(ATTEMPTS))

    def post() -> int:
        username = f"guess{next(guesses)}@example.com"  # a new name each time: only the per-address limit applies
        response = client.post("/admin/login/", {"username": username, "password": "x"}, REMOTE_ADDR=ip)
        if response.status_code == 429:
            last.append(response)
        return response.status_code

    statuses = bad_logins(post)
    assert statuses[:10] == [200] * 10  # the form again, with its error
    assert_limited(statuses, last)
    assert (
        client.post(
            "/admin/login/", {"username": "ops@example.com", "password": "the-real-admin-pw-77"}, REMOTE_ADDR=ip
        ).status_code
        == 429
    )


def test_the_admin_limit_is_per_address_and_an_admin_elsewhere_logs_in(db: None, mid_window: None) -> None:
    User.objects.create_superuser(email="ops@example.com", password="the-real-admin-pw-77")
    attacker = unique_ip()
    for _ in range(12):
        Client().post("/admin/login/", {"username": "someone@example.com", "password": "x"}, REMOTE_ADDR=attacker)
    response = Client().post(
        "/admin/login/", {"username": "ops@example.com", "password": "the-real-admin-pw-77"}, REMOTE_ADDR=unique_ip()
    )
    assert response.status_code == 302


def test_guessing_one_admin_account_from_many_addresses_is_limited_too(db: None, mid_window: None) -> None:
    target = f"target-{unique_ip()}@example.com"
    statuses = [
        Client().post("/admin/login/", {"username": target, "password": "x"}, REMOTE_ADDR=unique_ip()).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [429, 429]


def test_sign_ups_from_one_address_are_limited(db: None) -> None:
    ip = unique_ip()
    statuses = [
        Client()
        .post("/accounts/signup/", {"email": f"n{i}@example.com", "password1": "x", "password2": "y"}, REMOTE_ADDR=ip)
        .status_code
        for i in range(12)
    ]
    assert statuses[:10] == [200] * 10  # the form with its errors
    assert statuses[10:] == [429, 429]


def test_password_reset_mails_to_one_address_are_limited(victim: User) -> None:
    statuses = [
        Client().post("/accounts/password/reset/", {"email": victim.email}, REMOTE_ADDR=unique_ip()).status_code
        for _ in range(4)
    ]
    assert statuses == [302, 302, 302, 429]


def test_a_fixed_window_counter_answers_the_seconds_left() -> None:
    rate, subject = Rate(amount=2, period=60, per="ip"), unique_ip()
    start = 1_000_040.0  # 20 s into a minute window (1_000_020 is a multiple of 60)
    assert hit(scope="test", rate=rate, subject=subject, now=start) == 0
    assert hit(scope="test", rate=rate, subject=subject, now=start + 1) == 0
    assert hit(scope="test", rate=rate, subject=subject, now=start + 2) == 38


def test_rates_are_read_in_allauths_syntax() -> None:
    assert Rate.parse("10/15m/key") == Rate(amount=10, period=900, per="key")
    assert Rate.parse("20/m") == Rate(amount=20, period=60, per="ip")
    assert Rate.parse("3/0.5h/ip").period == 1800
    with pytest.raises(ValueError, match="not a rate"):
        Rate.parse("10 per minute")


def test_every_configured_rate_parses() -> None:
    from django.conf import settings

    from apps.accounts.ratelimits import rates

    for text in [*settings.ACCOUNT_RATE_LIMITS.values(), ",".join(settings.ADMIN_LOGIN_RATE_LIMITS)]:
        assert rates(text)
