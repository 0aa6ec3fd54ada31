from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress

from apps.accounts.models import User
from apps.accounts.selectors import user_email_verified
from apps.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


# Here the cast starts with no address at all (the factory's default is a verified one).
@pytest.fixture
def alice(db: None) -> User:
    return UserFactory(email="alice@example.com", email_verified=False)


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory(email="bob@example.com", email_verified=False)


@pytest.fixture
def charlie(db: None) -> User:
    return UserFactory(email="charlie@example.com", email_verified=False)


def test_an_owner_with_no_confirmed_address_is_not_verified(alice: User) -> None:
    assert not user_email_verified(user=alice)
    EmailAddress.objects.create(user=alice, email=alice.email, primary=True, verified=False)
    assert not user_email_verified(user=alice)


def test_confirming_the_login_address_verifies_the_owner(alice: User) -> None:
    EmailAddress.objects.create(user=alice, email="ALICE@example.com", primary=True, verified=True)
    assert user_email_verified(user=alice)


def test_another_confirmed_address_does_not_count(alice: User) -> None:
    EmailAddress.objects.create(user=alice, email="alice.old@example.com", verified=True)
    assert not user_email_verified(user=alice)


def test_bobs_confirmation_does_not_verify_charlie(bob: User, charlie: User) -> None:
    EmailAddress.objects.create(user=bob, email=bob.email, primary=True, verified=True)
    assert user_email_verified(user=bob)
    assert not user_email_verified(user=charlie)
