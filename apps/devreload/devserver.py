"""The web process of `manage.py serve --reload`: uvicorn with its reloader, plus the devreload watcher.

uvicorn's reloader (watchfiles) restarts the server process when Python
changes; in that process, with DEBUG on, the devreload watcher starts before
the server accepts and stops before the server shuts down, as under runserver.
serve binds the port and passes it with --fd, so a restart keeps the port.

    python -m apps.devreload.devserver --fd 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.supervisors import ChangeReload

if TYPE_CHECKING:
    from apps.devreload.watcher import Watcher

BASE_DIR = Path(__file__).resolve().parent.parent.parent


class DevServer(uvicorn.Server):
    watcher: Watcher | None = None  # with DEBUG on

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        from django.conf import settings  # configured by now: the app is loaded

        if settings.DEBUG:
            # Before the server accepts: a page that connects is sure to be told of changes.
            from apps.devreload.watcher import Watcher

            self.watcher = Watcher.from_settings()
            await asyncio.to_thread(self.watcher.start)
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.watcher is not None:
            await asyncio.to_thread(self.watcher.stop)
        await super().shutdown(sockets)


def python_dirs() -> list[Path]:
    """Where our Python lives: the project's top-level packages and $PYTHONPATH.

    Not BASE_DIR as a whole: its .venv alone would take thousands of inotify watches.
    """
    packages = [d for d in BASE_DIR.iterdir() if (d / "__init__.py").is_file()]
    extra = [Path(p).resolve() for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return [*packages, *(p for p in extra if p.is_dir())]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m apps.devreload.devserver")
    parser.add_argument("--fd", type=int, required=True, help="a bound, listening socket to serve on")
    parser.add_argument("--timeout-graceful-shutdown", type=int, default=8)
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.fd)  # family detected from the socket itself
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        "catfeeder.asgi:application",
        host=host,
        port=port,
        reload=True,
        reload_dirs=[str(d) for d in python_dirs()],
        lifespan="off",
        timeout_graceful_shutdown=args.timeout_graceful_shutdown,
    )
    ChangeReload(config, target=DevServer(config).run, sockets=[sock]).run()


if __name__ == "__main__":
    # Through the module's own name, so that the server process uvicorn
    # spawns finds DevServer where pickle says it is.
    from apps.devreload.devserver import main as devserver_main

    devserver_main()
