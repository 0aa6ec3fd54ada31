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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from apps.accounts.services import user_get_or_create_verified
from apps.feeders.models.fields import normalize_mac
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.selectors import pets as pet_selectors
from apps.feeders.services import devices as device_services
from apps.feeders.services import pets as pet_services

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.feeders.models import Feeder

MAC_PREFIX = "5E"  # locally administered: never a real vendor's
WAIT = 10.0  # seconds for a reply


@dataclass
class Device:
    n: int
    mac: str
    beacon_mac: str | None  # None: no collar tag comes to this bowl
    code: str
    token: str | None = None
    done: set[int] = field(default_factory=set)  # command ids already dispensed: repeats are no-ops


def mac(prefix: str, n: int) -> str:
    return f"{prefix}:00:00:{n // 65536 % 256:02X}:{n // 256 % 256:02X}:{n % 256:02X}"


def prepare(count: int, owner_email: str) -> list[Device]:
    """The cast, made through the services; a second run finds the rows of the first."""
    owner = user_get_or_create_verified(email=owner_email, name="Simulator")
    devices = []
    for n in range(count):
        feeder = _sim_feeder(owner, n)
        beacon_mac = mac("5C", n)
        beacon = device_selectors.beacon_list(user=owner).filter(mac=beacon_mac).first()
        if beacon is None:
            beacon = device_services.beacon_create(owner=owner, name=f"Sim collar {n}", mac=beacon_mac)
        if not pet_selectors.pet_list(user=owner).filter(beacon=beacon).exists():
            pet_services.pet_create(owner=owner, name=f"Sim cat {n}", beacon=beacon, allowance_grams=500)
        _, code = device_services.pairing_code_create(feeder=feeder)
        devices.append(Device(n, feeder.mac, beacon.mac, code))
    return devices


def _sim_feeder(owner: User, n: int) -> Feeder:
    feeder_mac = mac(MAC_PREFIX, n)
    feeder = device_selectors.feeder_list(user=owner).filter(mac=feeder_mac).first()
    return feeder or device_services.feeder_create(owner=owner, name=f"Sim {n}", mac=feeder_mac)


class Link:
    """One device socket: requests with ids, replies matched to them, pushes handed on."""

    def __init__(self, ws: ClientConnection, device: Device, stats: Counter[str]) -> None:
        self.ws, self.device, self.stats = ws, device, stats
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
        command_id = order["command_id"]
        if command_id not in self.device.done:
            self.device.done.add(command_id)
            self.stats["commands"] += 1
        await self.call("CommandResult", command_id=command_id, status="done", grams_dispensed=order["grams"])


class Simulation:
    def __init__(self, url: str, heartbeat: float, visit_every: float, stop: asyncio.Event) -> None:
        self.url, self.heartbeat, self.visit_every, self.stop = url, heartbeat, visit_every, stop
        self.stats: Counter[str] = Counter()

    async def run(self, device: Device) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            try:
                headers = {"Authorization": f"Bearer {device.token}"} if device.token else None
                async with connect(f"{self.url}/ws/device/", additional_headers=headers, compression=None) as ws:
                    backoff = 0.5
                    await self.session(Link(ws, device, self.stats))
            except (OSError, ConnectionClosed, InvalidStatus, TimeoutError) as exc:
                self.stats[f"disconnect {type(exc).__name__}"] += 1
                await asyncio.sleep(backoff * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not crypto
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
            await link.call("Hello", firmware="sim-1.0", ip=f"10.0.{device.n // 250}.{device.n % 250 + 2}")
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
            beacon_mac = link.device.beacon_mac
            await link.call("Visit", beacon_mac=beacon_mac)
            self.stats["visits"] += 1
            decision = await link.call("MayFeed", beacon_mac=beacon_mac, grams=10)
            if decision.get("allowed"):
                fed = await link.call("Fed", beacon_mac=beacon_mac, grams=decision["grams"], event_id=uuid.uuid4().hex)
                self.stats["feedings"] += fed["type"] == "Ack"

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
        # One device of a feeder an owner made (in the web pages or the API), paired with the code they were shown.
        parser.add_argument("--code", help="Pair one device with this code instead of making a cast (with --mac).")
        parser.add_argument("--mac", help="With --code: the Wi-Fi MAC address of the owner's feeder.")
        parser.add_argument(
            "--collar", help="With --code: the collar tag MAC seen at the bowl (default: none, no visits)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
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
        simulation = Simulation(options["url"].rstrip("/"), options["heartbeat"], options["visit_every"], stop)
        tasks = [asyncio.ensure_future(simulation.run(device)) for device in devices]
        await stop.wait()
        await asyncio.wait(tasks, timeout=WAIT)
        for task in tasks:
            task.cancel()
        return simulation.stats
