"""The web process: uvicorn serving the project, as one registered, drainable instance.

    python -m catfeeder.runtime.webserver --fd 3            # as `manage.py serve` runs it
    python -m catfeeder.runtime.webserver --port 8000       # on its own

On top of uvicorn it
- registers the instance in Redis and heartbeats (host, pid, version, start
  time, open sockets, request counts) for the status page and `/metrics`;
- listens on the channel layer, in the group "ops.web" and on a channel of
  its own, for a drain command from the admin (any host);
- drains on that command: readiness answers 503 and new sockets are refused
  at once, open sockets are closed with 1001, and after a short grace (for
  load balancers to notice) uvicorn's own shutdown lets in-flight requests
  finish and the process exits 0;
- on SIGTERM/SIGINT does the same through uvicorn (sockets closed with 1012,
  "service restart") and exits 0: uvicorn re-raises the signal once it has
  shut down, to the handler in place before it started, which is ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import Config

logger = logging.getLogger("apps.ops.webserver")

HEARTBEAT = 5.0  # seconds between registry updates
RETRY = 1.0  # seconds before listening again after a channel layer error


class InstanceServer(uvicorn.Server):
    def __init__(self, config: Config, *, drain_grace: float) -> None:
        super().__init__(config)
        from apps.ops.instance import current_instance

        self.instance = current_instance()
        self.drain_grace = drain_grace
        self.background: list[asyncio.Task[None]] = []
        self.layer: Any = None

    # -- life ----------------------------------------------------------------
    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.background = [asyncio.create_task(self._heartbeat()), asyncio.create_task(self._listen())]

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        self.instance.start_draining("stopping")  # readiness 503, new sockets refused (no-op after a drain)
        try:
            await super().shutdown(sockets=sockets)
        finally:
            for task in self.background:
                task.cancel()
            await self._publish(stopped=True)

    async def drain(self, *, reason: str, close_code: int = 1001) -> None:
        """Readiness 503 and sockets refused now; sockets closed; then uvicorn's graceful shutdown."""
        from catfeeder.runtime.middleware import sockets_close

        if not self.instance.start_draining(reason):
            return
        logger.warning("draining: %s", reason)
        await self._publish()
        closed = await sockets_close(self.instance, code=close_code, reason="server draining")
        logger.info("drain closed %d socket(s) with %d; stopping in %.1fs", closed, close_code, self.drain_grace)
        await asyncio.sleep(self.drain_grace)
        self.should_exit = True

    # -- registry ------------------------------------------------------------
    async def _publish(self, *, stopped: bool = False) -> None:
        from apps.ops.redis import WEB_KEY, async_redis_client

        snapshot = self.instance.snapshot()
        snapshot["stopped"] = stopped
        client = async_redis_client()
        try:
            await client.hset(WEB_KEY, self.instance.id, json.dumps(snapshot))
        except Exception as exc:  # noqa: BLE001 - Redis may be down; the next heartbeat tries again
            logger.warning("cannot publish the web instance: %s", exc)
        finally:
            await client.aclose()

    async def _heartbeat(self) -> None:
        while True:
            await self._publish()
            await asyncio.sleep(HEARTBEAT)

    # -- control -------------------------------------------------------------
    def _layer(self) -> Any:
        """The project's channel layer (None without one): its receive() ends when cancelled."""
        if self.layer is None:
            from channels.layers import get_channel_layer

            self.layer = get_channel_layer()
        return self.layer

    async def _listen(self) -> None:
        from apps.ops.instance import GROUP

        layer = self._layer()
        if layer is None:
            return
        while True:
            try:
                if not self.instance.channel_name:
                    self.instance.channel_name = await layer.new_channel("ops.web.")
                await layer.group_add(GROUP, self.instance.channel_name)
                await self._publish()  # the registry learns our channel now, not at the next heartbeat
                while True:
                    await self._on_message(await layer.receive(self.instance.channel_name))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down: listen again when it is back
                logger.warning("channel layer: %s; listening again in %.0fs", exc, RETRY)
                await asyncio.sleep(RETRY)

    async def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("type") != "ops.drain":
            return
        if message.get("instance") not in (None, "*", self.instance.id):
            return
        by = message.get("by", "someone")
        self.background.append(
            asyncio.create_task(self.drain(reason=f"drain requested by {by}", close_code=message.get("code", 1001)))
        )


def stop_on_signal(server: uvicorn.Server) -> Callable[[int, FrameType | None], None]:
    """The SIGINT/SIGTERM handler around uvicorn's own, which it holds only while it serves.

    Before that (the process still starting) a stop must still stop: it asks the server
    to exit, and uvicorn returns as soon as its start-up is done. After it, uvicorn
    raises the signal it handled again, and this makes that an exit 0, not "killed by
    SIGTERM". A handler that only logged swallowed a SIGTERM sent a moment after the
    process started, and the process served on until `serve` killed it.
    """

    def stopped(sig: int, frame: FrameType | None) -> None:
        server.should_exit = True
        logger.debug("stopped by %s", signal.Signals(sig).name)

    return stopped


def inherited_socket(fd: int) -> socket.socket:
    """The bound socket `manage.py serve` passes down, as what it is.

    uvicorn's own --fd opens it as AF_UNIX whatever it is: the event loop then
    serves TCP connections as pipes, without TCP_NODELAY, and a response written
    in two parts (head, then body) waits for the client's delayed ACK, ~40 ms
    a request. Made from the descriptor, the socket knows its real family.
    """
    return socket.socket(fileno=fd)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m catfeeder.runtime.webserver", description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="catfeeder.asgi:application", help="the ASGI application to serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--fd", type=int, default=None, help="serve on this inherited, bound socket")
    parser.add_argument("--timeout-graceful-shutdown", type=float, default=8.0, help="seconds in-flight work may take")
    parser.add_argument("--drain-grace", type=float, default=None, help="seconds between a drain and the stop")
    parser.add_argument("--ws-max-size", type=int, default=None, help="bytes (default: MESSAGE_MAX_BYTES)")
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catfeeder.settings.base")
    os.environ["CATFEEDER_PROCESS"] = "web"  # names this process's log files
    from uvicorn.importer import import_from_string

    from catfeeder.runtime.heap import gc_settle
    from catfeeder.runtime.middleware import InstanceMiddleware

    app = InstanceMiddleware(import_from_string(args.app))  # sets Django up (and its logging)
    from django.conf import settings

    config = Config(
        app,
        host=args.host,
        port=args.port,
        fd=args.fd,
        lifespan="off",
        log_config=None,  # Django's LOGGING is in charge
        log_level=args.log_level,
        access_log=False,  # the middleware logs each request with its correlation id
        timeout_graceful_shutdown=int(args.timeout_graceful_shutdown),
        # A frame over the message limit closes the socket with 1009.
        ws_max_size=args.ws_max_size or getattr(settings, "MESSAGE_MAX_BYTES", 16 * 1024 * 1024),
        # A ping finds a connection that died without a close. uvicorn's 20 s default made 500
        # wake-ups a second at 10,000 idle sockets, and 45 s still cost ~4 % of a core: feeders
        # are watched for silence by their heartbeats, so pings are only the owners' backstop.
        ws_ping_interval=settings.WS_PING_INTERVAL or None,
        # Frames are small JSON: compression saves little, and a negotiated deflate context
        # costs tens of KB per socket.
        ws_per_message_deflate=False,
        # Slow, silent or oversized request heads: within HTTP_HEADER_TIMEOUT
        # (408 after) and HTTP_MAX_HEADER_BYTES (431 over), see
        # catfeeder.runtime.uvicorn_head; an idle kept-alive connection closes after
        # HTTP_KEEP_ALIVE_TIMEOUT. Bodies: catfeeder.http_limits.RequestBody.
        http="catfeeder.runtime.uvicorn_head:HeadLimits",
        timeout_keep_alive=settings.HTTP_KEEP_ALIVE_TIMEOUT,
        server_header=False,  # the app names itself (catfeeder/<version>)
    )
    grace = args.drain_grace if args.drain_grace is not None else settings.OPS_DRAIN_GRACE
    server = InstanceServer(config, drain_grace=grace)
    # Before, during and after uvicorn's own handling of SIGINT/SIGTERM (stop_on_signal).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop_on_signal(server))
    gc_settle(young=settings.GC_YOUNG_THRESHOLD)
    server.run(sockets=None if args.fd is None else [inherited_socket(args.fd)])
    return 0 if server.started else 3


if __name__ == "__main__":
    sys.exit(main())
