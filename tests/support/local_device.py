"""A feeder that keeps its schedule: a real device client on /ws/device/, in a thread of the test.

It behaves as docs/protocol.md ("Meals offline") asks of firmware: it keeps the newest
ScheduleSync, serves a slot itself `grace` seconds after its time when no FeedNow came, never
serves a slot twice, queues what it did while it could not connect and uploads it first when it is
back (then its ScheduleAck). It reconnects by itself every half second while the link is down.
Every dispensing is recorded (slot key, how), so a test can count them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

from apps.feeders.management.local_schedule import LocalSchedule

HEARTBEAT = 5.0  # seconds; well inside FEEDER_OFFLINE_AFTER
WAIT = 10.0  # seconds for a reply


class LocalDevice:
    def __init__(self, ws_url: str, token: str, *, grace: float) -> None:
        self.url, self.token, self.grace = f"{ws_url}/ws/device/", token, grace
        self.local = LocalSchedule(since=dt.datetime.now(dt.UTC))
        self.dispensed: list[tuple[str, str]] = []  # (slot key, "FeedNow" or "local"), in order
        self.uploaded: list[str] = []  # slot keys whose Fed was acknowledged
        self.connections = 0
        self.ids = itertools.count(1)
        self.backlog: list[dict[str, Any]] = []  # pushes that came while waiting for a reply
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self) -> LocalDevice:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(15)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                ws = connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"}, open_timeout=3)
            except (OSError, InvalidHandshake, TimeoutError, ConnectionClosed, EOFError):
                self.serve_due(None)  # the link is down: its meals are its own
                time.sleep(0.5)
                continue
            with ws:
                self.connections += 1
                with contextlib.suppress(ConnectionClosed, OSError, TimeoutError):
                    self.session(ws)

    def session(self, ws: ClientConnection) -> None:
        now = dt.datetime.now(dt.UTC).isoformat()
        self.backlog.clear()
        self.call(ws, "Hello", firmware="test-2.0", capabilities=["local_schedule"], device_time=now)
        while self.local.queue:  # what it did offline, in order, before anything else
            message, fields = self.local.queue[0]
            self.call(ws, message, **fields)
            self.local.queue.pop(0)
            self.uploaded.append(str(fields["slot"]))
        self.acknowledge(ws)  # its queue is sent: the server may settle what it did not report
        last_beat = time.monotonic()
        while not self.stopping.is_set():
            if time.monotonic() - last_beat > HEARTBEAT:
                ws.send(json.dumps({"type": "Heartbeat", "id": f"b{next(self.ids)}"}))
                last_beat = time.monotonic()
            self.serve_due(ws)
            while self.backlog:  # FeedNow sent at connect, ScheduleSync after Welcome: after the upload
                self.handle(ws, self.backlog.pop(0))
            try:
                self.handle(ws, json.loads(ws.recv(timeout=0.2)))
            except TimeoutError:
                continue

    def call(self, ws: ClientConnection, message: str, **fields: Any) -> dict[str, Any]:
        request_id = f"r{next(self.ids)}"
        ws.send(json.dumps({"type": message, "id": request_id, **fields}))
        deadline = time.monotonic() + WAIT
        while True:
            frame = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if frame.get("id") == request_id:
                return dict(frame)
            if "id" not in frame:
                self.backlog.append(frame)

    def handle(self, ws: ClientConnection, frame: dict[str, Any]) -> None:
        if frame.get("type") == "ScheduleSync" and self.local.take(frame):
            self.local.grace = self.grace  # the test's, not the server's MEAL_LOCAL_GRACE
            self.acknowledge(ws)
        elif frame.get("type") == "SlotSkip":
            with self.lock:
                self.local.served.add(str(frame["slot"]))
        elif frame.get("type") == "FeedNow":
            slot = str(frame.get("slot"))
            with self.lock:
                if slot not in self.local.served:
                    self.local.served.add(slot)
                    self.dispensed.append((slot, "FeedNow"))
            result = {"command_id": frame["command_id"], "status": "done", "grams_dispensed": frame["grams"]}
            ws.send(json.dumps({"type": "CommandResult", "id": f"c{next(self.ids)}", **result}))

    def acknowledge(self, ws: ClientConnection) -> None:
        if self.local.version >= 0:
            ws.send(json.dumps({"type": "ScheduleAck", "id": f"a{next(self.ids)}", "version": self.local.version}))

    def serve_due(self, ws: ClientConnection | None) -> None:
        for key, grams in self.local.due(dt.datetime.now(dt.UTC)):
            with self.lock:
                self.local.served.add(key)
                self.dispensed.append((key, "local"))
            fed_at = dt.datetime.now(dt.UTC).isoformat()
            fed = {"slot": key, "grams": grams, "event_id": f"local-{key}", "fed_at": fed_at, "local": True}
            if ws is None:
                self.local.queue.append(("Fed", fed))
                continue
            try:
                self.call(ws, "Fed", **fed)
                self.uploaded.append(key)
            except (ConnectionClosed, OSError, TimeoutError):
                self.local.queue.append(("Fed", fed))
                raise
