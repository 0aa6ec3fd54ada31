from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.accounts.models import User

USER_EDITABLE_FIELDS = frozenset({"name", "time_zone"})


@transaction.atomic
def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Change an owner's own profile fields; anything else is refused."""
    unknown = set(data) - USER_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(user, name, value)
    user.save(update_fields=list(data))
    return user
