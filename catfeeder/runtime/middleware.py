"""The ASGI layer of a web instance, around the project's application.

For each HTTP request: a correlation id (X-Request-ID in and out), the
in-flight count, the request metrics and one log line: method, path,
status, duration, the route (Django's URL pattern, or "message <Name>" for
a typed message) and who called (user id or feeder id). The layers below
fill `scope[LOG_FIELDS]` with what only they know (`apps.ops.middleware`
for Django, the message path for its callers). While the instance drains,
new HTTP requests (not the health probes) get 503 problem+json with
Retry-After and Connection: close. For each WebSocket: tracking while
it is open, so that a drain can close it with 1001, and refusal (403 at the
handshake) while the instance drains. `catfeeder.runtime.webserver` wraps the
application it serves in `InstanceMiddleware`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from apps.ops.correlation import HTTP_HEADER, LOG_FIELDS, correlation_id_from_client, correlation_scope
from apps.ops.instance import OpenSocket, WebInstance, current_instance
from catfeeder.http_limits import problem

logger = logging.getLogger("apps.ops.web")
QUIET_PATHS = ("/health", "/metrics", "/static/")
MESSAGES_PREFIX = "/api/messages/"
HEALTH_PREFIX = "/health/"  # probes answer during a drain: readiness says 503 itself

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class InstanceMiddleware:
    def __init__(self, app: App, instance: WebInstance | None = None) -> None:
        self.app = app
        self.instance = instance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        instance = self.instance or current_instance()
        if scope["type"] == "http":
            await self._http(instance, scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(instance, scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, instance: WebInstance, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # if the app fails before it starts a response
        correlation_id = correlation_id_from_client(_header(scope, HTTP_HEADER.encode()))

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", correlation_id.encode())],
                }
            await send(message)

        fields = request_fields(scope)
        scope = {**scope, LOG_FIELDS: fields}  # a copy: ASGI middleware never changes its caller's scope
        instance.in_flight += 1
        try:
            with correlation_scope(correlation_id):
                if instance.draining and not scope.get("path", "").startswith(HEALTH_PREFIX):
                    # A balancer that has not seen readiness turn yet moves on at once, never waits.
                    detail = "This instance is shutting down; try again (another instance will answer)."
                    await problem(send_wrapper, 503, "Service Unavailable", detail, extra=((b"retry-after", b"1"),))
                else:
                    await self.app(scope, receive, send_wrapper)
        finally:
            instance.in_flight -= 1
            seconds = time.perf_counter() - started
            method = scope.get("method", "GET")
            instance.observe_request(method=method, status=status, seconds=seconds)
            path = scope.get("path", "")
            # Probes come every second or so from each load balancer: not worth a line each.
            level = logging.DEBUG if path.startswith(QUIET_PATHS) else logging.INFO
            with correlation_scope(correlation_id):
                logger.log(
                    level, "%s %s %s %.0fms%s", method, path, status, seconds * 1000, _who(fields),
                    extra={"method": method, "path": path, "status": status,
                           "duration_ms": round(seconds * 1000, 1), **fields},
                )  # fmt: skip

    async def _websocket(self, instance: WebInstance, scope: Scope, receive: Receive, send: Send) -> None:
        if instance.draining:
            await receive()  # websocket.connect
            instance.sockets_refused += 1
            await send({"type": "websocket.close", "code": 1001})  # before accept: the client sees 403
            return
        key = id(scope)
        tracked = OpenSocket(path=scope.get("path", ""), send=send)

        async def send_wrapper(message: Message) -> None:
            if tracked.closed_by_us:
                return  # the drain closed it already: what the app still sends has nowhere to go
            if message["type"] == "websocket.accept":
                instance.sockets[key] = tracked
            elif message["type"] == "websocket.close":
                instance.sockets.pop(key, None)
            await send(message)

        try:
            with correlation_scope():
                await self.app(scope, receive, send_wrapper)
        finally:
            instance.sockets.pop(key, None)


def request_fields(scope: Scope) -> dict[str, Any]:
    """The fields known before the app runs: a typed message's route is its name."""
    path = str(scope.get("path", ""))
    if path.startswith(MESSAGES_PREFIX):
        return {"route": f"message {path[len(MESSAGES_PREFIX) :][:64]}"}
    return {}


def _who(fields: dict[str, Any]) -> str:
    """The log line's tail: route and caller, as far as they are known."""
    parts = [f"{name}={fields[name]}" for name in ("route", "user_id", "feeder_id") if fields.get(name) is not None]
    return " " + " ".join(parts) if parts else ""


async def sockets_close(instance: WebInstance, *, code: int, reason: str) -> int:
    """Close every open WebSocket of this instance with `code`; returns how many."""
    closed = 0
    for key, tracked in list(instance.sockets.items()):
        tracked.closed_by_us = True
        instance.sockets.pop(key, None)
        try:
            await tracked.send({"type": "websocket.close", "code": code, "reason": reason})
            closed += 1
        except Exception as exc:  # noqa: BLE001 - the client may be gone already
            logger.debug("socket already gone: %s", exc)
    return closed
