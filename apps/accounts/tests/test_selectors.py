from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress

from apps.accounts.models import User
from apps.accounts.selectors import user_email_verified

pytestmark = pytest.mark.django_db


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
