"""A small WSGI app under catfeeder.wsgi_bridge, for tests/test_wsgi_bridge.py (served by uvicorn)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from catfeeder.wsgi_bridge import WsgiBridge

LARGE_PARTS = 64  # of 16 KiB: 1 MiB, over the bridge's buffer
closings: list[dict[str, Any]] = []


class Parts:
    """A streamed answer that notes whether it was closed in the thread that made it."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def __iter__(self) -> Iterator[bytes]:
        for n in range(LARGE_PARTS):
            yield bytes([65 + n % 26]) * 16384

    def close(self) -> None:
        closings.append({"same_thread": threading.get_ident() == self.thread})


def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    path = environ["PATH_INFO"]
    if path == "/echo":
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response(
            "201 Created", [("Content-Type", "application/octet-stream"), ("X-Seen-Length", environ["CONTENT_LENGTH"])]
        )
        return [body]
    if path == "/environ":
        seen = {k: v for k, v in environ.items() if isinstance(v, str)}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(seen).encode()]
    if path == "/large":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(LARGE_PARTS * 16384))])
        return Parts()
    if path == "/closings":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(closings).encode()]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not here"]


app = WsgiBridge(wsgi, threads=4, max_body=1000)
