"""App tokens are session keys, looked up with Django's public session API in one read.

Pins the Django behaviour OneReadSessionTokenStrategy relies on: loading a
session whose key is unknown or expired leaves it without a key.
"""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from apps.accounts.models import User
from apps.api.auth import OneReadSessionTokenStrategy, app_token_session, session_store

pytestmark = pytest.mark.django_db

strategy = OneReadSessionTokenStrategy()


def logged_in_key(user: User) -> str:
    client = Client()
    client.force_login(user)
    return str(client.session.session_key)


def test_an_unknown_token_is_no_session_after_one_query(django_assert_num_queries: DjangoAssertNumQueries) -> None:
    with django_assert_num_queries(1):
        assert strategy.lookup_session("0123456789abcdefghijklmnopqrstuv") is None
    assert strategy.lookup_session("short") is None  # not even a valid key: no query


def test_an_expired_session_is_no_session(alice: User) -> None:
    key = logged_in_key(alice)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    cache.delete(session_store(key).cache_key)  # as the cache entry would have expired too
    assert strategy.lookup_session(key) is None


def test_a_session_without_a_user_is_still_a_session() -> None:
    """allauth's pending flows (a code to enter) live in token sessions with no user yet."""
    pending = session_store()
    pending["flow"] = "login_by_code"
    pending.create()
    found = strategy.lookup_session(str(pending.session_key))
    assert found is not None
    assert found["flow"] == "login_by_code"
    assert app_token_session(str(pending.session_key)) is None


def test_a_token_gives_its_owner_while_active(alice: User) -> None:
    key = logged_in_key(alice)
    found = app_token_session(key)
    assert found is not None
    assert (found[0], found[1].session_key) == (alice, key)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert app_token_session(key) is None
    assert app_token_session("") is None
