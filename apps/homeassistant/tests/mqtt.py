"""A Mosquitto of the test's own on a free loopback port, and a paho client that plays Home Assistant."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from catfeeder.testing import Process, free_port, wait_until

MOSQUITTO = "/usr/sbin/mosquitto"
WAIT = 20.0  # seconds: a bound on any wait, not a measure of speed


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Mosquitto(Process):
    """Debian's broker on 127.0.0.1 only, anonymous, nothing kept on disk; never the machine's :1883."""

    def __init__(self, directory: Path, port: int | None = None, *, anonymous: bool = True) -> None:
        self.port = port or free_port()
        config = directory / "mosquitto.conf"
        allow = "true" if anonymous else "false"  # false, and no password file: every client is refused
        config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous {allow}\npersistence false\n")
        super().__init__("mosquitto", [MOSQUITTO, "-c", str(config)], env=dict(os.environ), log_dir=directory)
        wait_until(lambda: self.check_alive() and port_open(self.port), timeout=WAIT, what="mosquitto listening")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


class HomeAssistant:
    """Subscribes to everything under a prefix and keeps the last payload of each topic, as HA would see it."""

    def __init__(self, port: int, prefix: str) -> None:
        self.last: dict[str, bytes] = {}
        self.history: list[tuple[str, bytes]] = []
        self.changed = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"ha-{free_port()}")
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)  # back soon after a broker restart
        self.client.on_connect = lambda client, *_: client.subscribe(f"{prefix}/#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self.changed:
            self.last[message.topic] = bytes(message.payload)
            self.history.append((message.topic, bytes(message.payload)))
            self.changed.notify_all()

    def wait(self, predicate: Callable[[], bool], what: str) -> None:
        with self.changed:
            if not self.changed.wait_for(predicate, timeout=WAIT):
                raise TimeoutError(f"Home Assistant did not see {what} within {WAIT}s")

    def json(self, topic: str) -> Any:
        return json.loads(self.last[topic])

    def configs(self, root: str) -> dict[str, dict[str, Any]]:
        """The discovery configs retained under a household's root now (an empty payload is a removal)."""
        with self.changed:
            found = dict(self.last)
        return {t: json.loads(p) for t, p in found.items() if t.startswith(f"{root}/") and t.endswith("/config") and p}

    def press(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(WAIT)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
