"""After an outage: N feeders that kept their schedule reconnect at once, each with queued meals to upload.

Each feeder keeps its schedule ("local_schedule") and served 5 meals on its own while the server
was away. All N connect at once to one production web process (`catfeeder.runtime.webserver`,
as `manage.py serve` runs it; --workers for more, on one socket; production settings, embedded
Redis, SQLite), say Hello, upload their 5 `Fed{slot, local}` in order (each waiting for its
Ack, as firmware does), then `ScheduleAck`.

Figures: seconds from the first connection until every upload is recorded and every feeder is
online (read from the database), the web processes' CPU seconds over that time, and what was lost
(an upload not recorded) or doubled (a slot with two feedings). Target: all recorded within 10 s on
this machine, 0 lost, 0 doubled.

    .venv/bin/python bench/reconnect.py [--feeders 1000] [--events 5] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import bench_env, owner_create, web_servers, web_servers_stop  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
WAIT = 60.0  # seconds for one reply under the storm
TARGET_S = 10.0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def mac(i: int) -> str:
    return f"F2:{i >> 16 & 255:02X}:{i >> 8 & 255:02X}:{i & 255:02X}:00:01"


def fleet_create(n: int, events: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """N feeders that keep their schedule, each with a pet, a daily meal and a device token; for each,
    its token and the `events` uploads it queued (one meal a day over the last days)."""
    from apps.accounts.models import User
    from apps.feeders.models import DeviceToken, Feeder, MealSchedule, Pet
    from apps.feeders.selectors.devices import token_hash
    from apps.households.services import household_for_write

    owner = User.objects.get(email="bench@example.com")
    household = household_for_write(user=owner, household_id=None)
    feeders = Feeder.objects.bulk_create(
        Feeder(household=household, name=f"Away {i}", mac=mac(i), local_schedule=True, clock_offset=0.0)
        for i in range(n)
    )
    pets = Pet.objects.bulk_create(Pet(household=household, name=f"Cat {i}", allowance_grams=1000) for i in range(n))
    schedules = MealSchedule.objects.bulk_create(
        MealSchedule(pet=pet, feeder=feeder, times=["07:30"], days_of_week=[1, 2, 3, 4, 5, 6, 7], grams=20)
        for feeder, pet in zip(feeders, pets, strict=True)
    )
    DeviceToken.objects.bulk_create(
        (DeviceToken(feeder=f, prefix=f"{i:012x}", secret_hash=token_hash(f"away-{i}-q8Zr4Kx1Vm")) for i, f in
         enumerate(feeders)), batch_size=1000,
    )  # fmt: skip
    today = dt.datetime.now(dt.UTC).date()
    fleet = []
    for i, schedule in enumerate(schedules):
        uploads = []
        for k in range(events, 0, -1):  # oldest first: in order, as they happened
            day = today - dt.timedelta(days=k)
            fed_at = dt.datetime.combine(day, dt.time(7, 31), tzinfo=dt.UTC).isoformat()
            slot = f"{schedule.pk}.0@{day.isoformat()}"
            uploads.append({"slot": slot, "grams": 20, "event_id": f"e{k}", "fed_at": fed_at, "local": True})
        fleet.append((f"cfd_{i:012x}_away-{i}-q8Zr4Kx1Vm", uploads))
    return fleet


async def feeder(url: str, token: str, uploads: list[dict[str, Any]], errors: dict[str, int]) -> None:
    from websockets.asyncio.client import connect

    for attempt in range(20):  # a refused handshake under the storm is tried again, as firmware does
        try:
            async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=WAIT) as ws:
                now = dt.datetime.now(dt.UTC).isoformat()
                hello = {"firmware": "bench", "capabilities": ["local_schedule"], "device_time": now}
                beat = 30.0
                for n, (kind, fields) in enumerate([("Hello", hello), *[("Fed", u) for u in uploads]]):
                    await ws.send(json.dumps({"type": kind, "id": str(n), **fields}))
                    while (reply := json.loads(await asyncio.wait_for(ws.recv(), WAIT))).get("id") != str(n):
                        pass  # pushes (FeedNow, ScheduleSync): answered by no one here
                    if reply["type"] == "Error":
                        errors[reply["code"]] = errors.get(reply["code"], 0) + 1
                    beat = float(reply.get("heartbeat_interval", beat))  # in Welcome
                await ws.send(json.dumps({"type": "ScheduleAck", "id": "ack", "version": 0}))
                # Online until the run ends (cancelled), beating as a device does: a run slower than the
                # server's silence timeout would otherwise see its feeders closed as silent.
                for n in range(int(300 / beat) + 1):
                    await asyncio.sleep(beat)
                    await ws.send(json.dumps({"type": "Heartbeat", "id": f"beat{n}"}))
                return
        except (OSError, TimeoutError) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            await asyncio.sleep(0.2 * (attempt + 1))


async def storm(
    url: str, fleet: list[tuple[str, list[dict[str, Any]]]], pids: list[int], expected: int, *, progress: bool
) -> dict[str, Any]:
    from asgiref.sync import sync_to_async

    from apps.feeders.models import Feeder, FeedEvent

    def counts() -> tuple[int, int]:
        return FeedEvent.objects.filter(offline=True).count(), Feeder.objects.filter(is_online=True).count()

    errors: dict[str, int] = {}
    cpu, started = sum(map(cpu_seconds, pids)), time.monotonic()
    tasks = [asyncio.ensure_future(feeder(url, token, uploads, errors)) for token, uploads in fleet]
    recorded = online = 0
    while time.monotonic() - started < 300:
        recorded, online = await sync_to_async(counts)()
        if progress and int((time.monotonic() - started) * 10) % 20 == 0:  # every 2 s
            print(f"  {time.monotonic() - started:5.1f} s: recorded {recorded}, online {online}", flush=True)
        if recorded >= expected and online >= len(fleet):
            break
        await asyncio.sleep(0.1)
    elapsed, cpu = time.monotonic() - started, sum(map(cpu_seconds, pids)) - cpu
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"seconds": elapsed, "cpu": cpu, "recorded": recorded, "online": online, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeders", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5, help="uploads queued per feeder")
    parser.add_argument("--workers", type=int, default=1, help="web processes on the one socket")
    parser.add_argument("--progress", action="store_true", help="print the counts every 2 s")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    env = bench_env()
    os.environ.update(env)
    from apps.infra.embedded_redis import EmbeddedRedis
    from catfeeder.testing import free_port, http_ok, wait_until

    redis = EmbeddedRedis(Path(env["CATFEEDER_VAR_DIR"]))
    redis.start()
    try:
        owner_create()
        fleet = fleet_create(args.feeders, args.events)
        port = free_port()
        listening, web = web_servers(port, env, workers=args.workers)
        try:
            wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health/live"), timeout=30, what="our server")
            url = f"ws://127.0.0.1:{port}/ws/device/"
            pids, expected = [server.pid for server in web], args.feeders * args.events
            result = asyncio.run(storm(url, fleet, pids, expected, progress=args.progress))
        finally:
            web_servers_stop(listening, web)
        report(args, result, doubled())
    finally:
        redis.stop()
        shutil.rmtree(env["CATFEEDER_VAR_DIR"], ignore_errors=True)


def doubled() -> int:
    """Slots with more than one feeding (there must be none)."""
    from django.db.models import Count

    from apps.feeders.models import FeedEvent

    per_slot = FeedEvent.objects.values("command__schedule", "command__slot_key").annotate(n=Count("id"))
    return sum(1 for row in per_slot if row["n"] > 1)


def report(args: argparse.Namespace, result: dict[str, Any], doubled: int) -> None:
    expected = args.feeders * args.events
    lost = expected - result["recorded"]
    verdict = "met" if result["seconds"] <= TARGET_S and lost == 0 and doubled == 0 else "NOT met"
    print(f"reconnect after an outage: {args.feeders} feeders, {args.events} queued meals each ({expected} uploads), "
          f"{args.workers} web process(es)")  # fmt: skip
    print(f"  all recorded and online in {result['seconds']:.1f} s (target <= {TARGET_S:.0f} s): {verdict}")
    print(f"  web processes' CPU: {result['cpu']:.1f} s; online {result['online']}/{args.feeders}")
    print(f"  lost {lost}, doubled {doubled}; client errors {result['errors'] or 'none'}")
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
