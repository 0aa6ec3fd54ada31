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
import itertools
import json
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from websockets.asyncio.client import ClientConnection, connect

from apps.accounts.services import user_get_or_create_verified
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

Say = Callable[["Device", str, str], None]  # (device, event, detail): one console line
MAC_PREFIX = "5E"  # locally administered: never a real vendor's
WAIT = 10.0  # seconds for a reply


@dataclass
class Device:
    n: int
    mac: str
    beacon_mac: str | None  # None: no collar tag comes to this bowl
    code: str
    token: str | None = None
    feeder_id: int | None = None  # told in Welcome
    done: set[int] = field(default_factory=set)  # command ids already dispensed: repeats are no-ops


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


class Link:
    """One device socket: requests with ids, replies matched to them, pushes handed on."""

    def __init__(self, ws: ClientConnection, device: Device, stats: Counter[str], say: Say) -> None:
        self.ws, self.device, self.stats, self.say = ws, device, stats, say
        self.ids = itertools.count(1)
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def call(self, type: str, **fields: Any) -> dict[str, Any]:
        request_id = f"{self.device.n}-{next(self.ids)}"
        self.waiting[request_id] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"type": type, "id": request_id, **fields}))
        reply = await asyncio.wait_for(self.waiting[request_id], WAIT)
        if reply["type"] == "Error":
            self.stats[f"error {reply['code']}"] += 1
        return reply

    async def read(self) -> None:
        async for text in self.ws:
            frame = json.loads(text)
            future = self.waiting.pop(frame.get("id"), None)
            if future is not None:
                future.set_result(frame)
            elif frame["type"] == "FeedNow":
                asyncio.ensure_future(self.dispense(frame))
            elif frame["type"] == "ConfigUpdate" and frame.get("device_token"):
                self.device.token = frame["device_token"]

    async def dispense(self, order: dict[str, Any]) -> None:
        command_id, grams = order["command_id"], order["grams"]
        pet = f"pet {order['pet_id']}" if order.get("pet_id") else "no pet named"
        if command_id in self.device.done:
            self.say(self.device, "FeedNow", f"command {command_id} again: already dispensed, answering again")
        else:
            self.say(self.device, "FeedNow", f"command {command_id}: {grams} g, {pet}")
            self.device.done.add(command_id)
            self.stats["commands"] += 1
            self.say(self.device, "dispensed", f"{grams} g for command {command_id}")
        reply = await self.call("CommandResult", command_id=command_id, status="done", grams_dispensed=grams)
        self.say(self.device, "result", f"command {command_id} done, {grams} g: {_answer(reply)}")


def _answer(reply: dict[str, Any]) -> str:
    """The server's reply in a few words: Ack, or the error's code and message."""
    if reply["type"] == "Error":
        return f"refused, {reply.get('code')}: {reply.get('message', '')}"
    return "acknowledged" if reply["type"] == "Ack" else reply["type"]


@dataclass(frozen=True)
class Appetite:
    grams: int  # asked for at a visit; 0: the cat never eats at a visit
    chance: float  # of eating at a visit, 0..1


def _decision(reply: dict[str, Any]) -> str:
    if reply["type"] != "FeedDecision":
        return _answer(reply)
    verdict = f"may eat {reply['grams']} g" if reply["allowed"] else f"refused, {reply.get('reason')}"
    return f"{verdict} (eaten {reply['eaten_grams']} g, {reply['remaining_grams']} g left in the period)"


class Simulation:
    def __init__(
        self, url: str, heartbeat: float, visit_every: float, stop: asyncio.Event, *, appetite: Appetite, say: Say
    ) -> None:
        self.url, self.heartbeat, self.visit_every, self.stop = url, heartbeat, visit_every, stop
        self.appetite, self.say = appetite, say
        self.stats: Counter[str] = Counter()

    async def run(self, device: Device) -> None:
        backoff = 0.5
        while not self.stop.is_set():
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
            welcome = await link.call("Hello", firmware="sim-1.0", ip=f"10.0.{device.n // 250}.{device.n % 250 + 2}")
            if welcome["type"] != "Welcome":
                raise SystemExit(f"feeder {device.mac} was not welcomed: {welcome}")
            device.feeder_id = welcome["feeder_id"]
            self.say(device, "online", f"feeder {device.feeder_id}, heartbeat every {welcome['heartbeat_interval']} s")
            await asyncio.gather(self.beat(link), self.visits(link))
        finally:
            reader.cancel()

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
            self.say(device, "dispensed", f"{decision['grams']} g for collar {beacon_mac}: {_answer(fed)}")

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

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["eat_grams"] <= MAX_PORTION_GRAMS or not 0 <= options["eat_chance"] <= 1:
            raise CommandError(f"--eat-grams is 0..{MAX_PORTION_GRAMS} and --eat-chance 0..1.")
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
            options["url"].rstrip("/"), options["heartbeat"], options["visit_every"], stop, appetite=appetite, say=say
        )
        tasks = [asyncio.ensure_future(simulation.run(device)) for device in devices]
        await stop.wait()
        await asyncio.wait(tasks, timeout=WAIT)
        for task in tasks:
            task.cancel()
        return simulation.stats
