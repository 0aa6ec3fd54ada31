"""Credentials to callers, for both message transports (blocking: call from a thread).

- an owner: the allauth app token (`X-Session-Token`), checked as apps/api/auth.py does;
- a device: its own token (`Authorization: Bearer …`), never a user session;
- nobody: no credentials at all. A credential that is present but wrong is a
  401, never a quiet fall-back to anonymous.

The framework proves owners itself: they are Django users. What a device is,
and how its token is checked, belongs to the app that has devices; it
registers its authenticator when it is ready:

    class FeedersConfig(AppConfig):
        def ready(self) -> None:
            register_authenticator(CallerKind.DEVICE, device_caller, log_field="feeder_id")

An authenticator takes the token and answers the Caller it proves, or None.
Over HTTP only the credentials a message accepts count; a socket authenticates
once, for its route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apps.api.auth import app_token_session, app_token_touch
from apps.api.messages.core import ANONYMOUS, Caller, CallerKind, MessageError

BEARER = "bearer "
Authenticator = Callable[[str], Caller | None]


@dataclass(frozen=True)
class Door:
    authenticate: Authenticator
    log_field: str  # the request log's name for the caller's id


def owner_caller(token: str) -> Caller | None:
    """An app token, checked (and kept alive) exactly as the REST API's AppTokenAuth does."""
    found = app_token_session(token)
    if found is None:
        return None
    user, session = found
    app_token_touch(session)
    return Caller(CallerKind.OWNER, id=user.pk)


_doors: dict[CallerKind, Door] = {CallerKind.OWNER: Door(owner_caller, "user_id")}


def register_authenticator(kind: CallerKind, authenticate: Authenticator, *, log_field: str) -> None:
    """Let callers of `kind` prove themselves with a token, checked by `authenticate`
    (blocking, from a thread). Call it from AppConfig.ready(): once per kind."""
    if kind is CallerKind.ANONYMOUS or kind in _doors:
        raise ValueError(f"an authenticator for {kind} callers is registered already")
    _doors[kind] = Door(authenticate, log_field)


def authenticate(kind: CallerKind, token: str) -> Caller | None:
    """The caller of `kind` that `token` proves; None if it proves nobody (or no app has such callers)."""
    door = _doors.get(kind)
    return door.authenticate(token) if door is not None and token else None


def log_fields(caller: Caller) -> dict[str, int]:
    """The caller as the request log names it (`user_id`, `feeder_id`, ...)."""
    door = _doors.get(caller.kind)
    return {door.log_field: caller.id} if door is not None and caller.id is not None else {}


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
        caller = authenticate(CallerKind.OWNER, app_token)
        if caller is None:
            raise MessageError("unauthenticated", "The app token is not valid (log in again).", status=401)
        return caller
    if authorization is not None:
        token = bearer_token(authorization)
        caller = authenticate(CallerKind.DEVICE, token) if token else None
        if caller is None:
            raise MessageError("unauthenticated", "The device token is not valid.", status=401)
        return caller
    return ANONYMOUS
