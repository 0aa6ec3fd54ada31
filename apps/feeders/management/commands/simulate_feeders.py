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

The feeders keep their meal schedule (`local_schedule`; not with `--no-local-schedule`):
`--offline-at 60 --online-at 180` cuts their link in between, and they serve the meals due
meanwhile on their own and upload them when it is back. The device's side is in
apps/feeders/management/ (device_link, local_schedule, simulation).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.services import user_get_or_create_verified
from apps.feeders.management.device_link import WAIT, Device
from apps.feeders.management.local_schedule import LocalSchedule, OfflinePlan
from apps.feeders.management.simulation import Appetite, Simulation
from apps.feeders.models.feeding import MAX_PORTION_GRAMS
from apps.feeders.models.fields import normalize_mac
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.selectors import pets as pet_selectors
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
