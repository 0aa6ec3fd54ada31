"""The simulated feeders' life: connect, pair, say Hello, beat, visit and eat, keep the schedule and
serve it when the link is down (the plan of --offline-at/--online-at). simulate_feeders runs it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.db import DatabaseError
from websockets.asyncio.client import connect

from apps.feeders.management.device_link import Device, Link, Say, answer
from apps.feeders.management.local_schedule import OfflinePlan
from apps.feeders.selectors.schedules import schedule_feeds_collar


@dataclass(frozen=True)
class Appetite:
    grams: int  # asked for at a visit; 0: the cat never eats at a visit
    chance: float  # of eating at a visit, 0..1


def _decision(reply: dict[str, Any]) -> str:
    if reply["type"] != "FeedDecision":
        return answer(reply)
    verdict = f"may eat {reply['grams']} g" if reply["allowed"] else f"refused, {reply.get('reason')}"
    return f"{verdict} (eaten {reply['eaten_grams']} g, {reply['remaining_grams']} g left in the period)"


class Simulation:
    def __init__(
        self, url: str, heartbeat: float, visit_every: float, stop: asyncio.Event, *, appetite: Appetite, say: Say,
        plan: OfflinePlan | None = None,
    ) -> None:  # fmt: skip
        self.url, self.heartbeat, self.visit_every, self.stop = url, heartbeat, visit_every, stop
        self.appetite, self.say = appetite, say
        self.plan = plan or OfflinePlan([])
        self.started = time.monotonic()
        self.stats: Counter[str] = Counter()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def run(self, device: Device) -> None:
        timer = asyncio.ensure_future(self.local_timer(device)) if device.local is not None else None
        try:
            await self.connected(device)
        finally:
            if timer is not None:
                timer.cancel()

    async def connected(self, device: Device) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            if self.plan.offline(self.elapsed()):
                await self.offline(device)
                continue
            try:
                headers = {"Authorization": f"Bearer {device.token}"} if device.token else None
                async with connect(f"{self.url}/ws/device/", additional_headers=headers, compression=None) as ws:
                    backoff = 0.5
                    await self.session(Link(ws, device, self.stats, self.say))
            # Any failed handshake (a refusal, or a connection closed before the answer, as under a
            # connect storm) and anything unforeseen: a device says so and tries again, never stops.
            except Exception as exc:  # noqa: BLE001
                self.stats[f"disconnect {type(exc).__name__}"] += 1
                delay = backoff * random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not crypto
                if not self.stop.is_set():
                    self.say(device, "reconnect", f"{type(exc).__name__} {exc}".strip() + f"; again in {delay:.1f} s")
                await asyncio.sleep(delay)
                backoff = min(backoff * 2, 30)

    async def session(self, link: Link) -> None:
        reader = asyncio.ensure_future(link.read())
        try:
            device = link.device
            if device.token is None:
                paired = await link.call("Pair", code=device.code, mac=device.mac)
                if paired["type"] != "Paired":
                    raise SystemExit(f"feeder {device.mac} could not pair: {paired}")
                device.token = paired["token"]
                self.stats["paired"] += 1
                self.say(device, "paired", f"with code {device.code}: device token received")
            capabilities = ["local_schedule"] if device.local is not None else []
            welcome = await link.call(
                "Hello", firmware="sim-1.0", ip=f"10.0.{device.n // 250}.{device.n % 250 + 2}",
                capabilities=capabilities, device_time=dt.datetime.now(dt.UTC).isoformat(),
            )  # fmt: skip
            if welcome["type"] != "Welcome":
                raise SystemExit(f"feeder {device.mac} was not welcomed: {welcome}")
            device.feeder_id = welcome["feeder_id"]
            self.say(device, "online", f"feeder {device.feeder_id}, heartbeat every {welcome['heartbeat_interval']} s")
            await self.upload(link)
            device.link = link
            await asyncio.gather(self.beat(link), self.visits(link), self.cut(link))
        finally:
            device.link = None
            reader.cancel()

    async def upload(self, link: Link) -> None:
        """What the device did offline, in order, before anything else (a heartbeat means: all sent)."""
        local = link.device.local
        while local is not None and local.queue:
            message, fields = local.queue[0]
            reply = await link.call(message, **fields)
            if reply["type"] == "Error" and reply.get("code") == "dependency_unavailable":
                raise ConnectionError("the server could not record it: again after reconnecting")
            local.queue.pop(0)  # recorded, or refused for good (its schedule was deleted meanwhile)
            self.stats["uploaded"] += 1
            what = fields.get("slot") or fields.get("beacon_mac")
            self.say(link.device, "uploaded", f"{message} {what}: {answer(reply)}")
        link.flushed.set()

    async def cut(self, link: Link) -> None:
        """The offline plan: the link goes down at its next --offline-at."""
        wait = self.plan.cut_in(self.elapsed())
        if wait is None:
            return
        await self.pause(wait)
        if not self.stop.is_set():
            self.say(link.device, "offline", "link cut (--offline-at): serving meals on its own")
            await link.ws.close()
            raise ConnectionError("link cut by the plan")  # the session ends now, not at its next heartbeat

    async def offline(self, device: Device) -> None:
        """Link down: the cat still comes (visits queued with their time); meals are the local timer's."""
        back = self.elapsed() + self.plan.back_in(self.elapsed())
        while not self.stop.is_set() and self.elapsed() < back:
            await self.pause(min(self.visit_every * random.uniform(0.5, 1.5), back - self.elapsed()))  # noqa: S311
            if device.local is not None and device.beacon_mac and self.elapsed() < back:
                seen = {"beacon_mac": device.beacon_mac, "seen_at": dt.datetime.now(dt.UTC).isoformat()}
                device.local.queue.append(("Visit", seen))
        if not self.stop.is_set():
            self.say(device, "online", "link back (--online-at): reconnecting")

    async def local_timer(self, device: Device) -> None:
        """Each second: a slot whose grace is over without a FeedNow is served here (sent, or queued offline)."""
        local = device.local
        assert local is not None  # noqa: S101 - started only for such a device
        while not self.stop.is_set():
            for key, grams in local.due(dt.datetime.now(dt.UTC)):
                local.served.add(key)
                self.stats["meals served offline"] += 1
                now = dt.datetime.now(dt.UTC).isoformat()
                fed = {"slot": key, "grams": grams, "event_id": uuid.uuid4().hex, "fed_at": now, "local": True}
                link = device.link
                self.say(device, "dispensed", f"{grams} g for slot {key}, on its own" + ("" if link else ", queued"))
                try:
                    if link is None:
                        raise ConnectionError("offline")
                    self.say(device, "result", f"slot {key}: {answer(await link.call('Fed', **fed))}")
                except Exception:  # noqa: BLE001 - the link went down meanwhile: sent when it is back
                    local.queue.append(("Fed", fed))
            await self.pause(1.0)

    async def beat(self, link: Link) -> None:
        level = 100
        while not self.stop.is_set():
            level = max(level - random.randint(0, 2), 0)  # noqa: S311
            await link.call("Heartbeat", food_level_percent=level, signal_dbm=random.randint(-80, -40))  # noqa: S311
            self.stats["heartbeats"] += 1
            await self.pause(self.heartbeat)

    async def visits(self, link: Link) -> None:
        if link.device.beacon_mac is None:
            return
        while not self.stop.is_set():
            await self.pause(self.visit_every * random.uniform(0.5, 1.5))  # noqa: S311
            if self.stop.is_set():
                return
            await self.visit(link, link.device.beacon_mac)

    async def visit(self, link: Link, beacon_mac: str) -> None:
        device = link.device
        await link.call("Visit", beacon_mac=beacon_mac)
        self.stats["visits"] += 1
        not_eating = await self.not_eating(device, beacon_mac)
        self.say(device, "visit", f"collar {beacon_mac}" + ("" if not_eating is None else f"; {not_eating}"))
        if not_eating is not None:
            return
        decision = await link.call("MayFeed", beacon_mac=beacon_mac, grams=self.appetite.grams)
        self.say(device, "decision", _decision(decision))
        if decision.get("allowed"):
            fed = await link.call("Fed", beacon_mac=beacon_mac, grams=decision["grams"], event_id=uuid.uuid4().hex)
            self.stats["feedings"] += fed["type"] == "Ack"
            self.say(device, "dispensed", f"{decision['grams']} g for collar {beacon_mac}: {answer(fed)}")

    async def not_eating(self, device: Device, beacon_mac: str) -> str | None:
        """Why the cat does not ask to eat at this visit; None when it does."""
        if not self.appetite.grams:
            return "not eating (--eat-grams 0)"
        if await self.fed_by_schedule(device, beacon_mac):
            return "a meal schedule feeds this pet: not eating between meals"
        if random.random() >= self.appetite.chance:  # noqa: S311
            return "not hungry"
        return None

    @staticmethod
    async def fed_by_schedule(device: Device, beacon_mac: str) -> bool:
        # Asked at every visit: an owner may add or pause a schedule while the simulation runs.
        if device.feeder_id is None:
            return False
        try:
            return await sync_to_async(schedule_feeds_collar)(feeder_id=device.feeder_id, beacon_mac=beacon_mac)
        except DatabaseError:  # not the server's database, or it is down: the device keeps going
            return False

    async def pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
