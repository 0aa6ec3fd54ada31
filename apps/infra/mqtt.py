"""MQTT: a paho client made from MQTT_URL, and the broker check the status page runs.

MQTT_URL is `mqtt://` or `mqtts://` (TLS, port 8883 by default), with the user and password in it.
"""

from __future__ import annotations

import ssl
import threading
import uuid
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from apps.infra.storage import CheckStatus


def mqtt_client(url: str, *, client_id: str) -> tuple[mqtt.Client, str, int]:
    """A paho client for MQTT_URL, and the host and port to connect it to."""
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    if parts.username:
        client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
    if tls:
        client.tls_set_context(ssl.create_default_context())
    return client, parts.hostname or "localhost", parts.port or (8883 if tls else 1883)


def mqtt_broker_check(*, url: str, timeout: float) -> tuple[CheckStatus, str]:
    """Connect, wait for the broker's answer (CONNACK), disconnect; `timeout` in seconds, for each step."""
    client, host, port = mqtt_client(url, client_id=f"catfeeder-check-{uuid.uuid4().hex[:8]}")
    client.connect_timeout = timeout  # the TCP (and TLS) connection; paho waits 5 s by default
    answered, reasons = threading.Event(), []

    def on_connect(client: mqtt.Client, userdata: object, flags: object, reason: object, properties: object) -> None:
        reasons.append(reason)
        answered.set()

    client.on_connect = on_connect
    client.connect(host, port, keepalive=10)  # raises OSError when nothing listens or the name does not resolve
    client.loop_start()
    try:
        if not answered.wait(timeout):
            return "down", f"{host}:{port} accepted the connection but did not answer within {timeout:g}s"
        reason = reasons[0]
        if getattr(reason, "is_failure", False):
            return "down", f"{host}:{port} refused: {reason}"
        return "ok", f"{host}:{port}"
    finally:
        client.disconnect()
        client.loop_stop()
