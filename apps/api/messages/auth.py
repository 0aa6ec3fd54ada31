"""Credentials to callers, for both message transports (blocking: call from a thread).

- an owner: the allauth app token (`X-Session-Token`), checked as apps/api/auth.py does;
- a device: its own token (`Authorization: Bearer cfd_…`), never a user session;
- nobody: no credentials at all. A credential that is present but wrong is a
  401, never a quiet fall-back to anonymous.

Over HTTP only the credentials a message accepts count; a socket authenticates
once, for its route.
"""

from __future__ import annotations

from apps.api.auth import app_token_session, app_token_touch
from apps.api.messages.core import ANONYMOUS, Caller, CallerKind, MessageError

BEARER = "bearer "


def owner_caller(token: str) -> Caller | None:
    """An app token, checked (and kept alive) exactly as the REST API's AppTokenAuth does."""
    found = app_token_session(token)
    if found is None:
        return None
    user, session = found
    app_token_touch(session)
    return Caller(CallerKind.OWNER, user=user)


def device_caller(token: str) -> Caller | None:
    from apps.feeders.selectors.devices import device_token_authenticate

    found = device_token_authenticate(token=token)
    if found is None:
        return None
    feeder, device_token = found
    return Caller(CallerKind.DEVICE, feeder=feeder, token_id=device_token.pk)


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization[: len(BEARER)].lower() == BEARER:
        return authorization[len(BEARER) :].strip()
    return None


def caller_from_credentials(
    *, app_token: str | None, authorization: str | None, accepts: frozenset[CallerKind]
) -> Caller:
    """The caller proved by the credentials a message accepts; any others are not looked at
    (an owner's app token is no credential for a device message: 401, not 403)."""
    if CallerKind.OWNER not in accepts:
        app_token = None
    if CallerKind.DEVICE not in accepts:
        authorization = None
    if app_token is not None:
        caller = owner_caller(app_token)
        if caller is None:
            raise MessageError("unauthenticated", "The app token is not valid (log in again).", status=401)
        return caller
    if authorization is not None:
        token = bearer_token(authorization)
        caller = device_caller(token) if token else None
        if caller is None:
            raise MessageError("unauthenticated", "The device token is not valid.", status=401)
        return caller
    return ANONYMOUS
