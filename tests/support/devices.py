"""A feeder that feeds: a real device client on /ws/device/, in a thread of the test.

It dispenses each FeedNow's command once (firmware keeps the ids it has done,
as the protocol asks) and answers CommandResult; every FeedNow it receives is
recorded, repeats included, so a test can count both.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

HEARTBEAT = 5.0  # seconds; well inside FEEDER_OFFLINE_AFTER


class AutoDevice:
    def __init__(self, ws_url: str, token: str) -> None:
        self.url, self.token = f"{ws_url}/ws/device/", token
        self.received: list[int] = []  # every FeedNow, in order
        self.dispensed: list[int] = []  # command ids it dispensed (once each)
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()

    def __enter__(self) -> AutoDevice:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.stopping.clear()
        ws = connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"}, open_timeout=10)
        ws.__enter__()  # websockets 17 wants its context protocol; run() closes it
        ws.send(json.dumps({"type": "Hello", "id": "hello", "firmware": "test-1.0"}))
        self.thread = threading.Thread(target=self.run, args=(ws,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(10)
            self.thread = None

    def run(self, ws: Any) -> None:
        last_beat = time.monotonic()
        try:
            while not self.stopping.is_set():
                if time.monotonic() - last_beat > HEARTBEAT:
                    ws.send(json.dumps({"type": "Heartbeat", "id": "beat", "food_level_percent": 80}))
                    last_beat = time.monotonic()
                try:
                    frame = json.loads(ws.recv(timeout=0.2))
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return
                if frame.get("type") == "FeedNow":
                    self.feed(ws, frame)
        finally:
            ws.close()

    def feed(self, ws: Any, frame: dict[str, Any]) -> None:
        command_id = int(frame["command_id"])
        with self.lock:
            self.received.append(command_id)
            if command_id in self.dispensed:
                repeat = True
            else:
                self.dispensed.append(command_id)
                repeat = False
        # A repeat is answered again (the first answer may be what got lost), never dispensed again.
        result = {"command_id": command_id, "status": "done", "grams_dispensed": frame["grams"]}
        ws.send(json.dumps({"type": "CommandResult", "id": f"result-{command_id}-{repeat}", **result}))
