"""A blocking message-socket client for tests (websockets' sync client, real frames)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

WAIT = 10.0  # seconds: generous, the machine is shared; a test that passes never waits this long


class Socket:
    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.ws: ClientConnection = connect(url, additional_headers=headers, open_timeout=WAIT, compression=None)
        self.ws.__enter__()  # websockets 17 wants its context protocol; __exit__ closes
        self.ids = itertools.count(1)
        self.pushes: list[dict[str, Any]] = []  # frames without our id, kept for expect()

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.ws.close()

    def send(self, frame: dict[str, Any] | str | bytes) -> None:
        self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        return dict(json.loads(self.ws.recv(timeout=timeout)))

    def call(self, type: str, **fields: Any) -> dict[str, Any]:
        """Send a request and return its reply; pushes that come first are kept."""
        request_id = f"r{next(self.ids)}"
        self.send({"type": type, "id": request_id, **fields})
        deadline = time.monotonic() + WAIT
        while True:
            frame = self.recv(timeout=max(deadline - time.monotonic(), 0.01))
            if frame.get("id") == request_id:
                return frame
            self.pushes.append(frame)

    def expect(self, type: str, timeout: float = WAIT, **match: Any) -> dict[str, Any]:
        """The next pushed frame of this type (and these field values)."""
        deadline = time.monotonic() + timeout

        def fits(frame: dict[str, Any]) -> bool:
            return frame.get("type") == type and all(frame.get(k) == v for k, v in match.items())

        while True:
            for frame in self.pushes:
                if fits(frame):
                    self.pushes.remove(frame)
                    return frame
            self.pushes.append(self.recv(timeout=max(deadline - time.monotonic(), 0.01)))

    def close_code(self, timeout: float = WAIT) -> int | None:
        """Read until the server closes; its close code."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.pushes.append(self.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


def session_token(user: Any) -> str:
    """An app token for `user`: allauth's app tokens are session keys. Made without the login
    endpoint, whose rate limit (30 a minute per address) a test run would exceed."""
    client = Client()
    client.force_login(user)
    return str(client.session.session_key)
