from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError

pytestmark = pytest.mark.django_db

User = get_user_model()


def test_users_are_keyed_by_email_with_no_username() -> None:
    user = User.objects.create_user(email="Alice@Example.COM", password="s3cret-pass")
    assert User.USERNAME_FIELD == "email"
    assert not hasattr(user, "username")
    assert user.email == "Alice@example.com"  # the domain part is normalised


def test_an_email_is_unique_whatever_its_case() -> None:
    User.objects.create_user(email="alice@example.com", password="x")
    with pytest.raises(IntegrityError):
        User.objects.create_user(email="ALICE@example.com", password="x")


def test_login_matches_the_email_whatever_its_case() -> None:
    User.objects.create_user(email="alice@example.com", password="s3cret-pass")
    assert authenticate(username="ALICE@example.com", password="s3cret-pass") is not None
    assert authenticate(username="alice@example.com", password="wrong") is None


def test_a_superuser_is_staff() -> None:
    admin = User.objects.create_superuser(email="ops@example.com", password="x")
    assert admin.is_staff
    assert admin.is_superuser


def test_an_email_is_required() -> None:
    with pytest.raises(ValueError, match="e-mail"):
        User.objects.create_user(email="", password="x")
