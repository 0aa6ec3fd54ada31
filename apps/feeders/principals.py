"""Callers of the feeders app: devices proved by their token, and the rows behind a caller.

The message framework knows a caller only as a kind and an id; the device
authenticator (registered in apps.py) makes a device's, and the handlers
read the Feeder or the owner back through these.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from django.shortcuts import get_object_or_404

from apps.accounts.selectors import user_get_active
from apps.api.messages import Caller, CallerKind
from apps.feeders.models import Feeder
from apps.feeders.selectors.devices import device_tokens_authenticate

if TYPE_CHECKING:
    from apps.accounts.models import User


def device_caller(token: str) -> Caller | None:
    """The device a live device token proves: its feeder's id, and the token's for later checks."""
    found = device_sign_in(token)
    return None if found is None else found[0]


def device_sign_in(token: str) -> tuple[Caller, Feeder] | None:
    """The device a live device token proves, with the feeder row it was read with."""
    return device_sign_ins([token])[0]


def device_sign_ins(tokens: list[str]) -> list[tuple[Caller, Feeder] | None]:
    """device_sign_in of each token, in one query."""
    signed: list[tuple[Caller, Feeder] | None] = []
    seen: set[int] = set()
    for found in device_tokens_authenticate(tokens=tokens):
        if found is None:
            signed.append(None)
            continue
        feeder, device_token = found
        if feeder.pk in seen:  # the same feeder twice at once: each socket marks its own connection on its row
            feeder = copy.copy(feeder)
        seen.add(feeder.pk)
        signed.append((Caller(CallerKind.DEVICE, id=feeder.pk, credential_id=device_token.pk), feeder))
    return signed


def caller_feeder(caller: Caller) -> Feeder:
    """The calling device's feeder, read afresh: 404 once its owner has removed it."""
    return get_object_or_404(Feeder, pk=caller.id)


def caller_owner(caller: Caller) -> User:
    """The calling owner: 404 once the account is gone or disabled."""
    assert caller.id is not None  # noqa: S101 - authorize() let only owners in, and owners have ids
    return user_get_active(user_id=caller.id)
