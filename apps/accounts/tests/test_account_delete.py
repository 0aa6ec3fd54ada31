"""Deleting an account: the user, their allauth rows, sessions and tokens go;
the photo clean-up hook fires once the deletion has committed."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.test import Client

from apps.accounts.models import User
from apps.accounts.services import user_delete, user_deleted
from apps.accounts.tests.factories import PASSWORD
from conftest import app_token, unique_ip


@pytest.fixture
def deleted_events() -> Any:
    events: list[dict[str, Any]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        events.append(kwargs)

    user_deleted.connect(receiver)
    yield events
    user_deleted.disconnect(receiver)


def owned_rows(user_id: int) -> dict[str, int]:
    return {
        "emails": EmailAddress.objects.filter(user_id=user_id).count(),
        "social": SocialAccount.objects.filter(user_id=user_id).count(),
        "sessions": UserSession.objects.filter(user_id=user_id).count(),
    }


@pytest.mark.django_db(transaction=True)
def test_deleting_removes_the_user_their_allauth_rows_and_every_session(
    alice: User, bob: User, deleted_events: list[dict[str, Any]]
) -> None:
    SocialAccount.objects.create(user=alice, provider="github", uid="123")
    phone = app_token(Client(), alice)
    bobs = app_token(Client(), bob)
    session_keys = list(UserSession.objects.filter(user=alice).values_list("session_key", flat=True))
    assert session_keys
    alice_id = alice.pk

    user_delete(user=alice)

    assert not User.objects.filter(pk=alice_id).exists()
    assert owned_rows(alice_id) == {"emails": 0, "social": 0, "sessions": 0}
    assert not Session.objects.filter(session_key__in=session_keys).exists()
    assert Client(HTTP_X_SESSION_TOKEN=phone).get("/api/me").status_code == 401
    assert Client(HTTP_X_SESSION_TOKEN=bobs).get("/api/me").status_code == 200
    assert deleted_events == [{"signal": user_deleted, "user_id": alice_id, "email": "alice@example.com"}]


@pytest.mark.django_db
def test_the_api_deletes_my_account_with_my_password(alice: User) -> None:
    token = app_token(Client(), alice)
    client = Client(HTTP_X_SESSION_TOKEN=token)
    wrong = client.delete("/api/me", {"password": "nope"}, content_type="application/json")
    assert wrong.status_code == 403
    assert User.objects.filter(pk=alice.pk).exists()

    assert client.delete("/api/me", {"password": PASSWORD}, content_type="application/json").status_code == 204
    assert not User.objects.filter(pk=alice.pk).exists()
    assert client.get("/api/me").status_code == 401


@pytest.mark.django_db
def test_charlie_cannot_delete_alice(alice: User, charlie: User) -> None:
    token = app_token(Client(), charlie)
    Client(HTTP_X_SESSION_TOKEN=token).delete("/api/me", {"password": PASSWORD}, content_type="application/json")
    assert User.objects.filter(pk=alice.pk).exists()
    assert not User.objects.filter(pk=charlie.pk).exists()  # the token only ever means its own owner


@pytest.mark.django_db
def test_the_delete_page_asks_for_the_password_again_then_deletes(alice: User) -> None:
    client = Client()
    client.post("/accounts/login/", {"login": alice.email, "password": PASSWORD}, REMOTE_ADDR=unique_ip())

    first = client.post("/accounts/delete/", {"confirm": "delete"})
    assert first.status_code == 302
    assert first["Location"].startswith("/accounts/reauthenticate/")
    assert User.objects.filter(pk=alice.pk).exists()

    # The password given, allauth resumes the confirmed request: the account goes.
    resumed = client.post(first["Location"], {"password": PASSWORD})
    assert resumed.status_code == 302
    assert resumed["Location"] == "/accounts/login/"
    assert not User.objects.filter(pk=alice.pk).exists()
    assert client.get("/api/me").status_code == 401


@pytest.mark.django_db
def test_the_delete_page_wants_the_word_typed(alice: User) -> None:
    client = Client()
    client.post("/accounts/login/", {"login": alice.email, "password": PASSWORD}, REMOTE_ADDR=unique_ip())
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    response = client.post("/accounts/delete/", {"confirm": "yes"})
    assert response.status_code == 200
    assert User.objects.filter(pk=alice.pk).exists()
