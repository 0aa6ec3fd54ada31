"""Reads about accounts."""

from __future__ import annotations

from allauth.account.models import EmailAddress

from apps.accounts.models import User


def user_email_verified(*, user: User) -> bool:
    """Whether the owner has proved they read mail at their login address."""
    return bool(EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists())
