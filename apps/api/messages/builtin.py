"""Messages every socket understands, whatever the product registers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from apps.api.messages import auth
from apps.api.messages.core import ANYONE, CallerKind, Context, Message, MessageError, registry
from apps.api.messages.socket import CLOSE_UNAUTHENTICATED
from apps.api.types import SafeText


class Authenticate(Message):
    """Authenticate a socket that could not send credentials in its handshake: the
    device token on /ws/device/, the app token on /ws/app/. Must come first."""

    token: SafeText = Field(min_length=1, max_length=512)  # an app token is looked up in the database


class Authenticated(Message):
    """The socket now acts for this caller."""

    caller: Literal["owner", "device"]
    feeder_id: int | None = None  # a device's id (the device protocol's name for it)


@registry.handler(Authenticate, replies=Authenticated, callers=ANYONE, routes=("device", "app"))
def authenticate(message: Authenticate, context: Context) -> Authenticated:
    if context.caller.kind is not CallerKind.ANONYMOUS:
        raise MessageError("already_authenticated", "This socket is authenticated already.", status=409)
    kind = CallerKind.DEVICE if context.route == "device" else CallerKind.OWNER
    caller = auth.authenticate(kind, message.token)
    if caller is None:
        raise MessageError("unauthenticated", "The token is not valid.", status=401, close=CLOSE_UNAUTHENTICATED)
    context.sign_in(caller)
    if caller.kind is CallerKind.DEVICE:
        return Authenticated(caller="device", feeder_id=caller.id)
    return Authenticated(caller="owner")
