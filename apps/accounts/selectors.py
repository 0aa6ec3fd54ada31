from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession

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
