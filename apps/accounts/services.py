from __future__ import annotations

import logging
from typing import Any

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.db import transaction
from django.dispatch import Signal

from apps.accounts.models import User
from apps.infra.db import lock_or_404

logger = logging.getLogger(__name__)

USER_EDITABLE_FIELDS = frozenset({"name", "time_zone"})

# Sent once an account deletion has committed, with `user_id` and `email`.
# The database rows are gone by then (the owner's feeders, pets and the rest
# cascade from the user); files are not rows: the photos app connects here
# to delete the owner's photos from storage.
user_deleted = Signal()


@transaction.atomic
def user_get_or_create_verified(*, email: str, name: str) -> User:
    """An owner whose address counts as verified, made if missing: a cast for simulations and demos."""
    user, _ = User.objects.get_or_create(email=email, defaults={"name": name})
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    return user


@transaction.atomic
def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Change an owner's own profile fields; anything else is refused."""
    unknown = set(data) - USER_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(user, name, value)
    lock_or_404(user)  # an account deleted since this request read it: a 404
    user.save(update_fields=list(data))
    return user


def user_session_end(*, session: UserSession) -> None:
    """Log one session out: a browser's cookie or an app token stops working at once."""
    session.end()  # deletes the server-side session, then the row


@transaction.atomic
def user_sessions_end_all(*, user: User) -> int:
    """Log out everywhere: every browser session and every app token of the owner."""
    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.end()
    return len(sessions)


def user_session_record_client(*, session_key: str, client: str) -> None:
    """Remember whether a session is a browser's or an app's (shown in the session list)."""
    for session in UserSession.objects.filter(session_key=session_key):
        session.data = {**session.data, "client": client}
        session.save(update_fields=["data"])


def user_delete(*, user: User) -> None:
    """Delete the account and everything it owns; every session and app token ends."""
    user_id, email = user.pk, user.email
    with transaction.atomic():
        user_sessions_end_all(user=user)
        # Cascades: e-mail addresses, social accounts and their tokens, session
        # records, and the owner's domain rows (feeders, pets, ...).
        user.delete()
        transaction.on_commit(lambda: user_deleted.send(sender=User, user_id=user_id, email=email))
    logger.info("account %s deleted", user_id)
