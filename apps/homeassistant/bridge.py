"""The MQTT bridge: Home Assistant discovery, state pushed on change, and commands into the feeders' services.

One process per deployment (`manage.py homeassistant`, started by `serve` when MQTT_URL is set).
paho-mqtt's network thread keeps the broker connection: it reconnects with backoff, and the broker
publishes the last will (`offline`, retained) on the bridge's availability topic when the bridge
goes away without a word. The asyncio side listens to the channel layer's groups of each
household with the link on, the same events its members' browsers hear, so nothing is polled;
every database call runs in one worker thread, one unit of work at a time, in arrival order.
Each household's topics are under a root of its own (`<prefix>/<household id>/`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import close_old_connections, connections

from apps.api.messages.publish import PUSH
from apps.feeders.events import CATALOG
from apps.homeassistant import discovery, selectors, services
from apps.homeassistant.discovery import Topics
from apps.households.groups import HOUSEHOLD_KEY
from apps.infra.mqtt import mqtt_client

if TYPE_CHECKING:
    from apps.homeassistant.models import HomeAssistantLink

logger = logging.getLogger(__name__)

KEEPALIVE = 30  # seconds between MQTT pings; the broker declares us gone after 1.5 of them
# Seconds: paho doubles the wait between tries up to the max. The broker is on the household's own
# network, where a try costs next to nothing: a low max brings the bridge back within seconds of
# the broker, where 30 s left Home Assistant without states for up to half a minute more.
RECONNECT_MIN, RECONNECT_MAX = 1, 8
STOP_WAIT = 2.0  # seconds a stopping bridge waits for the broker to take its "offline"
LAYER_RETRY = 2.0  # seconds before listening to the channel layer again after it failed
# Seconds after connecting before the bridge clears what an earlier run left retained: the broker
# sends the retained messages of a new subscription at once, so they are all in by then.
SWEEP_AFTER = 3.0
COMMAND_TOPIC = re.compile(r"^(?P<household>\d+)/(?P<kind>feeder|schedule)/(?P<id>\d+)/(?P<verb>feed|set)$")


@dataclass
class HouseholdMirror:
    """What the bridge has published for one household: to clear what disappears, and to route events."""

    topics: Topics
    retained: set[str] = field(default_factory=set)
    feeder_ids: set[int] = field(default_factory=set)
    synced: bool = False  # `retained` holds what the database says, not yet only what is known
    pet_ids: set[int] = field(default_factory=set)


def bridge_client(url: str, *, will_topic: str, client_id: str) -> tuple[mqtt.Client, str, int]:
    """The bridge's paho client for MQTT_URL: its last will, and paho's reconnection backoff."""
    client, host, port = mqtt_client(url, client_id=client_id)
    client.will_set(will_topic, discovery.OFFLINE, qos=1, retain=True)
    client.reconnect_delay_set(min_delay=RECONNECT_MIN, max_delay=RECONNECT_MAX)
    return client, host, port


class Bridge:
    def __init__(self, *, url: str, prefix: str) -> None:
        self.prefix = prefix
        self.availability = discovery.bridge_availability_topic(prefix)
        client_id = f"catfeeder-bridge-{uuid.uuid4().hex[:8]}"
        self.client, self.host, self.port = bridge_client(url, will_topic=self.availability, client_id=client_id)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.households: dict[int, HouseholdMirror] = {}
        self.groups: set[str] = set()  # the channel-layer groups the bridge listens to
        self.connected = asyncio.Event()  # for callers (tests, logs): the broker said yes at least once
        self._work: asyncio.Queue[Callable[[], Any]] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._found: set[str] = set()  # retained topics the broker had when we subscribed

    # --- paho's network thread: hand everything to the event loop --------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            logger.warning("MQTT broker refused the bridge: %s", reason)
            return
        logger.info("MQTT bridge connected to %s:%s", self.host, self.port)
        # Subscribed before saying online: the broker takes a connection's packets in order, so a
        # press Home Assistant sends once it sees the bridge online is heard.
        for topic in discovery.command_subscriptions(self.prefix) + discovery.retained_subscriptions(self.prefix):
            client.subscribe(topic, qos=1)
        client.publish(self.availability, discovery.ONLINE, qos=1, retain=True)
        # A broker without persistence forgot every retained config: publish everything again.
        self._soon(self._sync_all)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.connected.set)
            self._loop.call_soon_threadsafe(self._loop.call_later, SWEEP_AFTER, self._soon, self._sweep)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        topic, payload = message.topic, bytes(message.payload)
        if COMMAND_TOPIC.match(topic.removeprefix(f"{self.prefix}/")):
            # A command left retained would feed again at every reconnect: only live ones count.
            if not message.retain:
                self._soon(lambda: self._command(topic, payload))
        elif message.retain and payload:  # what the broker kept from before; our own echoes are not retained
            self._soon(lambda: self._found.add(topic))

    def _soon(self, work: Callable[[], Any]) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._work.put_nowait, work)

    # --- the event loop -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        layer = get_channel_layer()
        self.channel = await layer.new_channel("homeassistant.")
        await layer.group_add(services.LINKS_GROUP, self.channel)
        self.client.connect_async(self.host, self.port, keepalive=KEEPALIVE)
        self.client.loop_start()
        tasks = [asyncio.create_task(self._listen(layer)), asyncio.create_task(self._worker(layer))]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # A clean stop says offline itself: the broker sends the last will only for a lost connection.
            goodbye = self.client.publish(self.availability, discovery.OFFLINE, qos=1, retain=True)
            with contextlib.suppress(RuntimeError):  # not connected: a broker that saw us go sends the last will
                goodbye.wait_for_publish(STOP_WAIT)
            self.client.disconnect()
            self.client.loop_stop()
            # The worker thread is asgiref's, shared with whatever else runs in this process later.
            await sync_to_async(connections.close_all)()

    async def _listen(self, layer: Any) -> None:
        while True:
            try:
                event = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("the channel layer failed; listening again in %.0f s", LAYER_RETRY)
                await asyncio.sleep(LAYER_RETRY)
                continue
            self._work.put_nowait(functools.partial(self._event, event))

    async def _worker(self, layer: Any) -> None:
        while True:
            work = await self._work.get()
            try:
                changes = await sync_to_async(self._unit)(work)
                if changes:
                    await self._regroup(layer)
                for household_id, join in changes or ():
                    if join:  # listening first: nothing that changes after the snapshot is missed
                        self._work.put_nowait(functools.partial(self._sync_household, household_id))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Home Assistant bridge: a unit of work failed")

    async def _regroup(self, layer: Any) -> None:
        """Listen to the live and catalog groups of every household with the link on, and no other."""
        wanted = await sync_to_async(self._unit)(selectors.home_assistant_groups)
        for group in wanted - self.groups:
            await layer.group_add(group, self.channel)
        for group in self.groups - wanted:
            await layer.group_discard(group, self.channel)
        self.groups = wanted

    @staticmethod
    def _unit(work: Callable[[], Any]) -> Any:
        close_old_connections()  # a long-lived process: drop connections past their age or broken
        return work()

    # --- units of work (the worker thread: database and publishes) ----------------------------

    def _publish(self, topic: str, payload: dict[str, Any] | str, *, retain: bool) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        self.client.publish(topic, text, qos=1, retain=retain)

    def _mirror(self, household_id: int) -> HouseholdMirror:
        topics = Topics(prefix=self.prefix, household_id=household_id)
        return self.households.setdefault(household_id, HouseholdMirror(topics=topics))

    def _sync_all(self) -> list[tuple[int, bool]]:
        """Publish the entities of every household with the link on; drop those that turned it off.

        Returns the households whose groups to join (True) or leave (False); a new household is
        published once its groups are joined.
        """
        changes: list[tuple[int, bool]] = []
        wanted = selectors.home_assistant_household_ids()
        for household_id in set(self.households) - wanted:
            self._clear(self.households.pop(household_id), keep=set())
            changes.append((household_id, False))
        for household_id in wanted:
            if household_id in self.households:
                self._sync_household(household_id)
            else:
                self._mirror(household_id)
                changes.append((household_id, True))
        return changes

    def _sync_household(self, household_id: int) -> None:
        if selectors.home_assistant_link(household_id=household_id) is None:
            return  # turned off meanwhile: the change's own unit of work clears it
        mirror = self._mirror(household_id)
        snapshot = selectors.home_assistant_snapshot(household_id=household_id, prefix=self.prefix)
        published = {**snapshot.configs, **snapshot.states}
        self._clear(mirror, keep=set(published))
        for topic, payload in published.items():
            self._publish(topic, payload, retain=True)
        mirror.retained, mirror.feeder_ids, mirror.pet_ids = set(published), snapshot.feeder_ids, snapshot.pet_ids
        mirror.synced = True

    def _sweep(self) -> None:
        """Clear what the broker kept from an earlier run that no longer exists.

        A feeder, pet or schedule deleted, or a household that turned Home Assistant off, while
        the bridge was stopped left its retained configs and states on the broker; Home Assistant
        would show those entities for ever.
        """
        found, self._found = self._found, set()
        for topic in found:
            household_id = discovery.topic_household(self.prefix, topic)
            if household_id is None:
                continue
            mirror = self.households.get(household_id)
            if mirror is not None and not mirror.synced:  # joined its groups, not published yet
                self._sync_household(household_id)
            if mirror is None or not mirror.synced or topic not in mirror.retained:
                self._publish(topic, "", retain=True)

    def _clear(self, mirror: HouseholdMirror, *, keep: set[str]) -> None:
        """An empty retained message removes an entity from Home Assistant (and a state from the broker)."""
        for topic in mirror.retained - keep:
            self._publish(topic, "", retain=True)

    def _event(self, event: dict[str, Any]) -> list[tuple[int, bool]] | None:
        if event.get("type") == services.LINKS_CHANGED:
            return self._sync_all()
        if event.get("type") == CATALOG:
            if event.get("household_id") in self.households:
                self._sync_household(int(event["household_id"]))
        elif event.get("type") == PUSH:
            self._pushed(event.get(HOUSEHOLD_KEY), json.loads(event["text"]))
        return None

    def _pushed(self, household_id: Any, message: dict[str, Any]) -> None:
        """A message the household's sockets get: the matching state or event, on that household's topics only.

        A feeder the household's snapshot does not hold (moved, or not published yet) is left to
        the next snapshot: nothing of it goes under a root it is not in.
        """
        mirror = self.households.get(household_id) if isinstance(household_id, int) else None
        if mirror is not None and int(message.get("feeder_id") or 0) in mirror.feeder_ids:
            self._pushed_to(mirror, message)

    def _pushed_to(self, mirror: HouseholdMirror, message: dict[str, Any]) -> None:
        topics, feeder_id, kind = mirror.topics, int(message["feeder_id"]), message.get("type")
        if kind == "FeederStatus":
            state = discovery.feeder_state(
                online=message["online"], food_level=message["food_level_percent"],
                last_seen=_when(message["last_seen_at"]), signal=message["signal_dbm"],
            )  # fmt: skip
            self._publish(topics.feeder(feeder_id, "state"), state, retain=True)
        elif kind == "CommandStatus":
            result = {"result": message["status"], "detail": message["error"], "command_id": message["command_id"]}
            self._publish(topics.feeder(feeder_id, "result"), result, retain=True)
        elif kind == "VisitRecorded":
            self._visit(mirror, message)
        elif kind == "FedRecorded":
            self._fed(mirror, message)

    def _visit(self, mirror: HouseholdMirror, message: dict[str, Any]) -> None:
        name = selectors.pet_name(household_id=mirror.topics.household_id, pet_id=message["pet_id"])
        event = discovery.visit_event(pet_id=message["pet_id"], pet_name=name, seen_at=_when(message["seen_at"]))
        self._publish(mirror.topics.feeder(int(message["feeder_id"]), "visit"), event, retain=False)

    def _fed(self, mirror: HouseholdMirror, message: dict[str, Any]) -> None:
        pet_id = message["pet_id"]
        if pet_id is None or pet_id not in mirror.pet_ids:
            return
        state = selectors.pet_state_of(household_id=mirror.topics.household_id, pet_id=pet_id)
        if state is not None:
            self._publish(mirror.topics.pet(pet_id, "state"), state, retain=True)
        event = discovery.feeding_event(
            feeder_id=message["feeder_id"], grams=message["grams"], source=message["source"],
            fed_at=_when(message["fed_at"]),
        )  # fmt: skip
        self._publish(mirror.topics.pet(pet_id, "feeding"), event, retain=False)

    def _command(self, topic: str, payload: bytes) -> None:
        """A press or a toggle from Home Assistant, as the household whose topics it came on."""
        found = COMMAND_TOPIC.match(topic.removeprefix(f"{self.prefix}/"))
        if found is None:
            return
        household_id, row_id = int(found["household"]), int(found["id"])
        link = selectors.home_assistant_link(household_id=household_id)
        if link is None:
            return  # Home Assistant is off for this household: nothing of it is acted on
        topics = Topics(prefix=self.prefix, household_id=household_id)
        if found["kind"] == "feeder":
            self._feed(topics, link, row_id, payload)
        else:
            self._switch(topics, link, row_id, payload)

    def _feed(self, topics: Topics, link: HomeAssistantLink, feeder_id: int, payload: bytes) -> None:
        try:
            command = services.home_assistant_feed(link=link, feeder_id=feeder_id, payload=payload)
        except services.Refused as exc:
            result = discovery.command_result(ok=False, detail=str(exc))
        else:
            result = discovery.command_result(ok=True, detail=f"{command.grams} g ordered", command_id=command.pk)
        self._publish(topics.feeder(feeder_id, "result"), result, retain=True)

    def _switch(self, topics: Topics, link: HomeAssistantLink, schedule_id: int, payload: bytes) -> None:
        try:
            enabled = services.home_assistant_switch(link=link, schedule_id=schedule_id, payload=payload)
        except services.Refused as exc:
            logger.info("Home Assistant switch refused for schedule %s: %s", schedule_id, exc)
            # A switch has no result topic of its own: the refusal goes to its feeder's, which the
            # "Last command" sensor shows (a schedule of another household, or none, has no feeder here).
            feeder_id = selectors.schedule_feeder_id(household_id=topics.household_id, schedule_id=schedule_id)
            if feeder_id is not None:
                result = discovery.command_result(ok=False, detail=f"schedule {schedule_id}: {exc}")
                self._publish(topics.feeder(feeder_id, "result"), result, retain=True)
            return
        self._publish(topics.schedule(schedule_id, "state"), discovery.switch_state(enabled), retain=True)


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None
