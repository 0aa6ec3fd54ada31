"""The two message sockets: /ws/device/ for feeders, /ws/app/ for the members of households.

Both are MessageSocket (apps/api/messages/socket.py): frames go to the
registry. What is here is the life of a connection: who it is, and for a
device, online state and the feed commands it has still to get.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import validate_host

from apps.api.auth import scope_owner_sync
from apps.api.messages import ANONYMOUS, Caller, CallerKind
from apps.api.messages.auth import bearer_token
from apps.api.messages.dispatch import encode, run_plain, run_sync
from apps.api.messages.hub import hub
from apps.api.messages.silence import wheel
from apps.api.messages.socket import CLOSE_SILENT, CLOSE_UNAUTHENTICATED, MessageSocket, Refused
from apps.feeders import events
from apps.feeders.models import FeedCommand, Feeder
from apps.feeders.principals import caller_feeder, device_sign_ins
from apps.feeders.protocol import FeedNow
from apps.feeders.services import commands as command_services
from apps.feeders.services import presence as presence_services
from apps.households import groups as household_groups
from apps.households.groups import household_group
from apps.households.selectors import household_ids
from apps.infra.aio import Gather


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _sign_in_all(tokens: list[str]) -> list[tuple[Caller, Feeder] | None]:
    return await run_plain(device_sign_ins, tokens)


# The tokens of the handshakes that arrive together are looked up together: a storm of
# reconnecting feeders made one thread hop and one query each.
sign_ins: Gather[str, tuple[Caller, Feeder] | None] = Gather(_sign_in_all)


# Their online marks too: one call in one pool thread for the sockets that open together.
connects: Gather[Feeder, list[FeedCommand]] = Gather(functools.partial(run_plain, presence_services.feeders_connect))


class DeviceSocket(MessageSocket):
    """A feeder: its token in `Authorization: Bearer …`, or an Authenticate or Pair message first.

    No Origin is needed: firmware is not a browser, and nothing here rides on a cookie.
    """

    route = "device"
    # The device's handlers and its sign-in call no async code: no asgiref context round trip.
    runner = staticmethod(run_plain)

    def __init__(self) -> None:
        self.connection_id = uuid.uuid4().hex
        self.sent_commands: set[int] = set()  # FeedNow sent on this connection: each at most once
        self.commands_lock = asyncio.Lock()
        self.feeder: Feeder | None = None  # read once the connection acts for a device

    async def handshake(self) -> Caller:
        authorization = header(self.scope, b"authorization")
        if authorization is None:
            return ANONYMOUS
        token = bearer_token(authorization)
        found = await sign_ins.submit(token) if token else None
        if found is None:
            raise Refused
        caller, self.feeder = found  # read with the token: become() need not read it again
        return caller

    async def become(self, caller: Caller) -> None:
        # Read before the group is joined: its events name the feeder's commands.
        if self.feeder is None or self.feeder.pk != caller.id:
            self.feeder = await run_plain(caller_feeder, caller)
        await super().become(caller)

    async def signed_in(self) -> None:
        # The group was joined first, so a command created from now on is not missed;
        # one that comes both ways is sent once (sent_commands, under the lock).
        async with self.commands_lock:
            assert self.feeder is not None  # noqa: S101 - become() read it
            note = presence_services.connect_note(feeder=self.feeder, connection_id=self.connection_id)
            for command in await connects.submit(note):
                await self.send_feed_now(command)
        # Offline after FEEDER_OFFLINE_AFTER seconds without a frame: the process's one wheel looks.
        wheel().watch(self, settings.FEEDER_OFFLINE_AFTER)

    def held(self) -> Feeder | None:
        return self.feeder

    def silent(self) -> None:
        """Nothing heard within FEEDER_OFFLINE_AFTER: close, which records the feeder offline."""
        if not self.closed:
            self.start(self.close(CLOSE_SILENT))

    async def on_close(self) -> None:
        wheel().unwatch(self)
        await super().on_close()

    async def signed_out(self) -> None:
        if self.feeder is not None:
            await run_plain(presence_services.feeder_disconnect, feeder=self.feeder, connection_id=self.connection_id)

    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == events.COMMAND:
            async with self.commands_lock:
                resend = bool(event.get("resend"))  # the reconciler: no result came, send it again
                if event.get("feed_now") is not None:  # a delivery task marked it sent already
                    await self.send_frame(FeedNow(**event["feed_now"]), again=resend)
                elif resend or event["command_id"] not in self.sent_commands:
                    send = command_services.feed_command_send
                    command = await run_plain(send, feeder=self.feeder, command_id=event["command_id"])
                    if command is not None:
                        await self.send_feed_now(command, again=resend)
        elif kind == events.REVOKE:
            if self.caller.credential_id in event["token_ids"]:
                await self.close(CLOSE_UNAUTHENTICATED)
        else:
            await super().on_event(event)

    async def send_feed_now(self, command: FeedCommand, *, again: bool = False) -> None:
        feed_now = FeedNow(command_id=command.pk, grams=command.grams, pet_id=command.pet_id, slot=command.slot_key)
        await self.send_frame(feed_now, again=again)

    async def send_frame(self, feed_now: FeedNow, *, again: bool = False) -> None:
        if again or feed_now.command_id not in self.sent_commands:
            self.sent_commands.add(feed_now.command_id)
            await self.send_text(encode(feed_now))


def origin_allowed(origin: str) -> bool:
    host = urlsplit(origin).hostname
    return host is not None and validate_host(host, settings.ALLOWED_HOSTS)


class AppSocket(MessageSocket):
    """An owner: the app token in `X-Session-Token` (or an Authenticate message), or the browser session.

    A browser always sends Origin, and it must be one of ALLOWED_HOSTS (no
    cross-site socket hijacking). The session cookie counts only with such an
    Origin; a token is not ambient, so a client with a token may send none.
    """

    route = "app"

    async def handshake(self) -> Caller:
        origin = header(self.scope, b"origin")
        if origin is not None and not origin_allowed(origin):
            raise Refused
        has_token = header(self.scope, b"x-session-token") is not None
        if not has_token and origin is None:
            return ANONYMOUS  # not a browser: a cookie proves nothing without the Origin check
        user = await run_sync(scope_owner_sync, self.scope)  # the REST API's own door for sockets
        if user is None:
            if has_token:
                raise Refused
            return ANONYMOUS  # a browser with no live session may still Authenticate
        return Caller(CallerKind.OWNER, id=user.pk)

    async def join(self, caller: Caller) -> None:
        """The owner's own group, then the group of each of their households: every member hears its events."""
        fresh = caller.group not in self.groups  # a handshake's sign-in joins twice: read once
        await super().join(caller)
        if fresh and caller.kind is CallerKind.OWNER and caller.id is not None:
            for household_id in await run_sync(household_ids, user_ids=[caller.id]):
                await self.household_listen(household_id, listen=True)

    async def household_listen(self, household_id: int, *, listen: bool) -> None:
        group = household_group(household_id)
        if listen and group not in self.groups:
            await hub().join(group, self)
            self.groups.append(group)
        elif not listen and group in self.groups:
            # A removed member's next event of that household is never handed to this socket.
            self.groups.remove(group)
            await hub().leave(group, self)

    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind in (household_groups.JOINED, household_groups.LEFT):
            await self.household_listen(int(event["household_id"]), listen=kind == household_groups.JOINED)
        elif household_groups.HOUSEHOLD_KEY in event and household_group(event["household_id"]) not in self.groups:
            return  # sent before this socket left that household, received after: not for it any more
        else:
            await super().on_event(event)
