"""The built-in checks: one per service the project depends on.

Each probe does real work against its service (a query, a cache round trip,
a broker connection, a worker ping, a channel-layer round trip, a storage
canary, an SMTP connection, an MQTT connection) with its own short timeouts, and the registry
(`apps.ops.health`) adds a hard deadline around it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import redis.asyncio as aioredis
from celery import current_app as app
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import Storage, default_storage, storages
from django.core.mail import get_connection
from django.db import connection
from django.utils import timezone

from apps.infra.mqtt import mqtt_broker_check
from apps.infra.storage import storage_canary_check
from apps.ops import selectors
from apps.ops.health import Check, Component, Outcome, Status, check_register

BROKER_CONNECT_TIMEOUT = 1.5  # seconds
WORKER_PING_TIMEOUT = 1.0  # seconds each for ping and for the active-tasks inspection
LAYER_TIMEOUT = 2.0  # seconds for the channel-layer round trip
SHARD_TIMEOUT = 1.0  # seconds to connect to each channel-layer server (all at once), then for its PING's answer
MAIL_TIMEOUT = 3.0  # seconds for the SMTP connection
MQTT_TIMEOUT = 1.5  # seconds for the MQTT connection, then again for the broker's answer
STORAGE_TIMEOUT = 2.5  # seconds for the canary's write, read back and delete together
CANARY_S3_OPTIONS = {"connect_timeout": 1, "read_timeout": 2, "max_attempts": 1}  # seconds, seconds, tries


def probe_database() -> Outcome:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return Outcome(Status.OK, f"{connection.vendor}")


def probe_cache() -> Outcome:
    key = f"ops:canary:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    if value != "1":
        return Outcome(Status.DOWN, "a value written was not read back")
    return Outcome(Status.OK)


def broker_connection() -> Any:
    """A broker connection that gives up quickly instead of retrying for minutes."""
    conn = app.connection_for_write(
        connect_timeout=BROKER_CONNECT_TIMEOUT,
        transport_options={"max_retries": 0, "interval_start": 0, "interval_step": 0, "interval_max": 0},
    )
    conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    return conn


def broker_queue_lengths(conn: Any) -> dict[str, int]:
    names = {q.name for q in app.amqp.queues.values()} or {app.conf.task_default_queue}
    lengths = {}
    for name in sorted(names):
        try:
            lengths[name] = int(conn.default_channel.queue_declare(queue=name, passive=True).message_count)
        except conn.channel_errors:
            lengths[name] = 0  # not declared yet: nothing was ever sent to it
    return lengths


def probe_broker() -> Outcome:
    with broker_connection() as conn:
        lengths = broker_queue_lengths(conn)
    detail = ", ".join(f"{name}: {n} waiting" for name, n in lengths.items())
    return Outcome(Status.OK, detail, data={"queues": lengths})


def probe_workers() -> Outcome:
    known = selectors.workers_known()
    expected = sum(1 for info in known.values() if not info.get("stopped_at"))
    with broker_connection() as conn:
        # With a limit the ping returns as soon as every worker we know of answered.
        limit = expected or None
        replies = app.control.inspect(timeout=WORKER_PING_TIMEOUT, connection=conn, limit=limit).ping() or {}
        active = {}
        if replies:
            inspect = app.control.inspect(
                destination=list(replies), timeout=WORKER_PING_TIMEOUT, connection=conn, limit=len(replies)
            )
            active = inspect.active() or {}
    components = []
    for name in sorted(set(replies) | set(known)):
        info = known.get(name, {})
        if name in replies:
            tasks = [f"{t.get('name')}[{str(t.get('id'))[:8]}]" for t in active.get(name, [])]
            detail = f"{len(tasks)} active" + (f": {', '.join(tasks)}" if tasks else "")
            components.append(Component(name, Status.OK, detail, {"active": tasks}))
        elif info.get("stopped_at"):
            components.append(Component(name, Status.DOWN, f"stopped at {info['stopped_at']}", {"stopped": True}))
        else:
            components.append(Component(name, Status.DOWN, "does not answer"))
    return Outcome(_workers_status(replies, components), _workers_detail(replies, components), components)


def _workers_status(replies: dict[str, Any], components: list[Component]) -> Status:
    if not replies:
        return Status.DOWN
    missing = [c for c in components if c.status is Status.DOWN and not c.data.get("stopped")]
    return Status.DEGRADED if missing else Status.OK


def _workers_detail(replies: dict[str, Any], components: list[Component]) -> str:
    if not replies:
        return "no worker answers a ping"
    missing = [c.name for c in components if c.status is Status.DOWN and not c.data.get("stopped")]
    text = f"{len(replies)} answering"
    return text + (f"; missing: {', '.join(missing)}" if missing else "")


def probe_beat() -> Outcome:
    tick = selectors.beat_last_tick()
    interval = settings.BEAT_HEARTBEAT_INTERVAL
    process = selectors.beat_process()
    holder = f"{process['host']}:{process['pid']}" if process else "unknown"
    data: dict[str, Any] = {"lock_holder": holder, "last_tick": tick.isoformat() if tick else None}
    paused = selectors.periodic_pause_get()
    if tick is None:
        return Outcome(Status.DOWN, "no heartbeat recorded yet", data=data)
    age = (timezone.now() - tick).total_seconds()
    data["tick_age"] = round(age, 1)
    detail = f"last tick {age:.0f}s ago; beat process {holder}"
    if age > 10 * interval:
        return Outcome(Status.DOWN, detail, data=data)
    if paused:
        return Outcome(
            Status.DEGRADED, f"{detail}; {paused['count']} periodic job(s) paused by {paused['by']}", data=data
        )
    return Outcome(Status.DEGRADED if age > 3 * interval else Status.OK, detail, data=data)


def probe_channel_layer() -> Outcome:
    async def round_trip() -> bool:
        layer = channel_layers.make_backend(channels_default_alias())
        try:
            channel = await layer.new_channel("ops.check.")
            token = uuid.uuid4().hex
            await layer.send(channel, {"type": "ops.check", "token": token})
            message = await asyncio.wait_for(layer.receive(channel), LAYER_TIMEOUT)
            return bool(message.get("token") == token)
        finally:
            close = getattr(layer, "close_pools", None)
            if close is not None:
                await close()

    if not getattr(settings, "CHANNEL_LAYERS", None):
        return Outcome(Status.DEGRADED, "no channel layer configured")
    if silent := channel_shards_silent():
        return Outcome(Status.DOWN, f"no answer from {', '.join(silent)}")
    ok = asyncio.run(asyncio.wait_for(round_trip(), LAYER_TIMEOUT + 0.5))
    return Outcome(Status.OK, "round trip") if ok else Outcome(Status.DOWN, "the message came back different")


def channel_shards_silent() -> list[str]:
    """The channel layer's servers that do not answer a PING, when it is sharded over several.

    The round trip reaches only the server its channel's name hashes to: with one shard of two
    dead, half the sockets would hear nothing while the check passed every other run.
    """
    urls = [url.strip() for url in getattr(settings, "CHANNEL_REDIS_URLS", [])]
    if len(urls) < 2:
        return []

    async def ping(url: str) -> None:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=SHARD_TIMEOUT, socket_timeout=SHARD_TIMEOUT)
        try:
            await client.ping()
        finally:
            await client.aclose()

    async def ping_all() -> list[BaseException | None]:
        return await asyncio.gather(*(ping(url) for url in urls), return_exceptions=True)

    answers = asyncio.run(ping_all())
    return [
        f"server {number} of {len(urls)} ({type(answer).__name__})"
        for number, answer in enumerate(answers, start=1)
        if answer is not None
    ]


def channels_default_alias() -> str:
    return str(DEFAULT_CHANNEL_LAYER)


def canary_storage() -> Storage:
    """The default storage, or for S3 a twin of it that tries once with short timeouts.

    An upload may retry for half a minute; the canary must answer within its
    deadline, and a canary left behind by a stuck server must end soon too.
    """
    config = settings.STORAGES["default"]
    if not config["BACKEND"].endswith("S3Storage"):
        return default_storage
    key = json.dumps(config, sort_keys=True, default=str)
    twin = _canary_storages.get(key)
    if twin is None:
        options = {**config.get("OPTIONS", {}), **CANARY_S3_OPTIONS}
        twin = _canary_storages[key] = storages.create_storage({**config, "OPTIONS": options})
    return twin


_canary_storages: dict[str, Storage] = {}


def probe_storage() -> Outcome:
    status, detail = storage_canary_check(storage=canary_storage(), timeout=STORAGE_TIMEOUT)
    return Outcome(Status(status), detail)


def probe_mail() -> Outcome:
    backend = settings.EMAIL_BACKEND
    if not backend.endswith("smtp.EmailBackend"):
        return Outcome(Status.OK, f"{backend.rsplit('.', 2)[-2]} backend (no server to check)")
    mail = get_connection(timeout=MAIL_TIMEOUT, fail_silently=False)
    mail.open()
    mail.close()
    return Outcome(Status.OK, f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}")


def probe_mqtt() -> Outcome:
    if not settings.MQTT_URL:
        return Outcome(Status.OK, "not configured (MQTT_URL is empty: no Home Assistant bridge)")
    status, detail = mqtt_broker_check(url=settings.MQTT_URL, timeout=MQTT_TIMEOUT)
    return Outcome(Status(status), detail)


def probe_web() -> Outcome:
    instances = selectors.web_instances_list()
    components = []
    for item in instances:
        name = f"{item['host']}:{item['pid']}"
        detail = f"v{item['version']}, {item['sockets']} socket(s), {item['in_flight']} in flight"
        if item["state"] == "running":
            components.append(Component(name, Status.OK, detail, item))
        elif item["state"] in ("draining", "stopped"):
            components.append(Component(name, Status.DEGRADED if item["state"] == "draining" else Status.OK,
                                        f"{item['state']}; {detail}", item))  # fmt: skip
        else:
            components.append(Component(name, Status.DOWN, f"no heartbeat for {item['heartbeat_age']:.0f}s", item))
    running = sum(1 for item in instances if item["state"] == "running")
    lost = sum(1 for item in instances if item["state"] == "lost")
    if running == 0:
        return Outcome(Status.DEGRADED, "no running web instance registered", components)
    detail = f"{running} running" + (f", {lost} lost" if lost else "")
    return Outcome(Status.DEGRADED if lost else Status.OK, detail, components)


def builtin_checks() -> list[Check]:
    """Critical ones decide readiness: without them no request can be served properly.

    Storage and mail only show in readiness: every instance shares them, so
    taking instances out of service would turn away the reads too, while
    uploads answer 503 by themselves and mails wait in the queue. The MQTT
    broker is Home Assistant's alone: with it down, the app and the pages
    work on, so it decides nothing and only colours `/health`.
    """
    return [
        Check("database", probe_database, critical=True, timeout=3.0, kind="datastore"),
        Check("cache", probe_cache, critical=True, timeout=2.0, kind="datastore"),
        Check("broker", probe_broker, critical=True, timeout=3.0, kind="datastore"),
        Check("channel_layer", probe_channel_layer, critical=True, timeout=3.0, kind="datastore"),
        Check("workers", probe_workers, critical=False, timeout=4.0, kind="system"),
        Check("beat", probe_beat, critical=False, timeout=2.0, kind="system"),
        Check(
            "storage",
            probe_storage,
            critical=False,
            timeout=STORAGE_TIMEOUT + 0.5,
            kind="datastore",
            shown_in_ready=True,
        ),
        Check("mail", probe_mail, critical=False, timeout=MAIL_TIMEOUT + 1, kind="system", shown_in_ready=True),
        Check("mqtt", probe_mqtt, critical=False, timeout=2 * MQTT_TIMEOUT + 1, kind="datastore"),
        Check("web", probe_web, critical=False, timeout=2.0, kind="system"),
    ]


def register_builtin_checks() -> None:
    for check in builtin_checks():
        check_register(check)
