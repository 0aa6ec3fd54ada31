from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.shortcuts import get_object_or_404

from apps.accounts.models import User


def user_email_verified(*, user: User) -> bool:
    """Whether the owner has confirmed the address they log in with.

    Pairing a feeder (a device that feeds a pet) requires it; logging in does not.
    """
    return bool(EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists())


def user_session_list(*, user: User) -> list[UserSession]:
    """The owner's live sessions (browser log-ins and app tokens), oldest first.

    Sessions that expired or were ended elsewhere are purged on the way.
    """
    return sorted(UserSession.objects.purge_and_list(user), key=lambda session: session.created_at)


def user_session_get(*, user: User, session_id: int) -> UserSession | None:
    return UserSession.objects.filter(user=user, pk=session_id).first()


def user_get_active(*, user_id: int) -> User:
    """An active account by id (a caller known only by its id): 404 once it is gone or disabled."""
    return get_object_or_404(User, pk=user_id, is_active=True)
