"""Run N simulated feeders over real WebSockets: pairing, heartbeats, visits, feeding.

    manage.py simulate_feeders --count 20 --url ws://127.0.0.1:8000 --duration 60
    manage.py simulate_feeders --mac 5E:00:00:00:00:07 --code K7QM-3XPA --collar 5C:00:00:00:00:07

The second form is one device of a feeder an owner added, paired with the code
the feeder's page showed them.

The cast is made in the database first (an owner with a verified address, and
per feeder a collar tag and a pet); from then on everything goes over
/ws/device/ exactly as firmware does: Pair with the owner's code, Hello,
Heartbeat, Visit, MayFeed then Fed when allowed, and FeedNow answered with
CommandResult. A device that loses its socket reconnects with its token.

Each event is one line on the console (`--quiet`: only the first and last):

    19:02:11 5E:00:00:00:00:07 paired     with code K7QM-3XPA: device token received
    19:02:11 5E:00:00:00:00:07 online     feeder 12, heartbeat every 30 s

At a visit the cat eats `--eat-grams` with the chance `--eat-chance`, unless a
meal schedule feeds it: then its food comes at meal times only.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from websockets.asyncio.client import connect

from apps.accounts.services import user_get_or_create_verified
from apps.feeders.management.device_link import WAIT, Device, Link, Say, answer
from apps.feeders.management.local_schedule import LocalSchedule, OfflinePlan
from apps.feeders.models.feeding import MAX_PORTION_GRAMS
from apps.feeders.models.fields import normalize_mac
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.selectors import pets as pet_selectors
from apps.feeders.selectors.schedules import schedule_feeds_collar
from apps.feeders.services import devices as device_services
from apps.feeders.services import pets as pet_services
from apps.households.services import household_for_write

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.feeders.models import Feeder
    from apps.households.models import Household

MAC_PREFIX = "5E"  # locally administered: never a real vendor's


def mac(prefix: str, n: int) -> str:
    return f"{prefix}:00:00:{n // 65536 % 256:02X}:{n // 256 % 256:02X}:{n % 256:02X}"


def prepare(count: int, owner_email: str) -> list[Device]:
    """The cast, made through the services; a second run finds the rows of the first."""
    owner = user_get_or_create_verified(email=owner_email, name="Simulator")
    household = household_for_write(user=owner, household_id=None)
    devices = []
    for n in range(count):
        feeder = _sim_feeder(owner, household, n)
        beacon_mac = mac("5C", n)
        beacon = device_selectors.beacon_list(user=owner).filter(mac=beacon_mac).first()
        if beacon is None:
            beacon = device_services.beacon_create(household=household, name=f"Sim collar {n}", mac=beacon_mac)
        if not pet_selectors.pet_list(user=owner).filter(beacon=beacon).exists():
            pet_services.pet_create(household=household, name=f"Sim cat {n}", beacon=beacon, allowance_grams=500)
        _, code = device_services.pairing_code_create(feeder=feeder, user=owner)
        devices.append(Device(n, feeder.mac, beacon.mac, code))
    return devices


def _sim_feeder(owner: User, household: Household, n: int) -> Feeder:
    feeder_mac = mac(MAC_PREFIX, n)
    feeder = device_selectors.feeder_list(user=owner).filter(mac=feeder_mac).first()
    return feeder or device_services.feeder_create(household=household, name=f"Sim {n}", mac=feeder_mac)


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


class Command(BaseCommand):
    help = "Run N simulated feeders over real WebSockets (pairing, heartbeats, visits, feeding)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10, help="How many feeders.")
        parser.add_argument("--url", default="ws://127.0.0.1:8000", help="The server, ws:// or wss://.")
        parser.add_argument("--owner", default="simulator@example.com", help="The owner of the simulated feeders.")
        parser.add_argument("--duration", type=float, default=0, help="Seconds to run (0: until Ctrl-C).")
        parser.add_argument("--heartbeat", type=float, default=30, help="Seconds between heartbeats.")
        parser.add_argument("--visit-every", type=float, default=20, help="Mean seconds between visits per feeder.")
        # A cat takes a few mouthfuls at some visits: 3 g at one visit in four is about 50 g a day at a
        # visit every 20 minutes, and at the default 20 s a cast pet's 500 g last hours, not minutes.
        parser.add_argument("--eat-grams", type=int, default=3, help="Grams asked for when the cat eats at a visit.")
        parser.add_argument("--eat-chance", type=float, default=0.25, help="Chance (0..1) that a visit is a snack.")
        parser.add_argument("--quiet", action="store_true", help="No line per event: the first and the summary only.")
        # One device of a feeder an owner made (in the web pages or the API), paired with the code they were shown.
        parser.add_argument("--code", help="Pair one device with this code instead of making a cast (with --mac).")
        parser.add_argument("--mac", help="With --code: the Wi-Fi MAC address of the owner's feeder.")
        parser.add_argument(
            "--collar", help="With --code: the collar tag MAC seen at the bowl (default: none, no visits)."
        )
        # The link plan: down at each --offline-at, up at its --online-at (seconds from the start).
        parser.add_argument("--offline-at", type=float, action="append", default=[], help="Seconds: cut the link.")
        parser.add_argument("--online-at", type=float, action="append", default=[], help="Seconds: link back.")
        parser.add_argument(
            "--no-local-schedule", action="store_true", help="Do not keep the schedule: every meal is a FeedNow."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["eat_grams"] <= MAX_PORTION_GRAMS or not 0 <= options["eat_chance"] <= 1:
            raise CommandError(f"--eat-grams is 0..{MAX_PORTION_GRAMS} and --eat-chance 0..1.")
        try:
            options["plan"] = OfflinePlan.of(options["offline_at"], options["online_at"])
        except ValueError as exc:
            raise CommandError(f"--offline-at/--online-at: {exc}") from exc
        if options["code"]:
            devices = [self.owners_device(options)]
            self.stdout.write(f"simulate_feeders: the feeder {devices[0].mac}, pairing -> {options['url']}")
        else:
            devices = prepare(options["count"], options["owner"])
            self.stdout.write(f"simulate_feeders: {len(devices)} feeders of {options['owner']} -> {options['url']}")
        started = time.monotonic()
        stats = asyncio.run(self.simulate(devices, options))
        summary = ", ".join(f"{n} {what}" for what, n in sorted(stats.items()))
        self.stdout.write(f"simulate_feeders: {time.monotonic() - started:.0f}s: {summary or 'nothing happened'}")

    def say(self, device: Device, event: str, detail: str) -> None:
        self.stdout.write(f"{time.strftime('%H:%M:%S')} {device.mac} {event:<10} {detail}")

    def quiet(self, device: Device, event: str, detail: str) -> None:
        pass

    def owners_device(self, options: dict[str, Any]) -> Device:
        if not options["mac"]:
            raise CommandError("--code needs --mac: the MAC address of the feeder the code is for.")
        try:
            collar = normalize_mac(options["collar"]) if options["collar"] else None
            return Device(0, normalize_mac(options["mac"]), collar, options["code"])
        except ValueError as exc:
            raise CommandError(f"--mac/--collar: {exc}") from exc

    async def simulate(self, devices: list[Device], options: dict[str, Any]) -> Counter[str]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if options["duration"]:
            loop.call_later(options["duration"], stop.set)
        appetite = Appetite(grams=options["eat_grams"], chance=options["eat_chance"])
        say = self.quiet if options["quiet"] else self.say
        simulation = Simulation(
            options["url"].rstrip("/"), options["heartbeat"], options["visit_every"], stop, appetite=appetite, say=say,
            plan=options["plan"],
        )  # fmt: skip
        for device in devices:  # meals before the start are not the simulator's to serve
            device.local = None if options["no_local_schedule"] else LocalSchedule(since=dt.datetime.now(dt.UTC))
        tasks = [asyncio.ensure_future(simulation.run(device)) for device in devices]
        await stop.wait()
        await asyncio.wait(tasks, timeout=WAIT)
        for task in tasks:
            task.cancel()
        return simulation.stats
