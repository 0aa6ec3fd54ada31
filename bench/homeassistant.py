"""Home Assistant "Feed now" press -> FeedNow at the feeder, end to end.

Everything runs as in production, each in its own process: the web process (the feeder's socket),
a Celery worker, the MQTT bridge (`manage.py homeassistant`) and a Mosquitto of the bench's own on
loopback; production settings on a private var/ (SQLite and the embedded Redis, unless
DATABASE_URL / REDIS_URL are set). A paho client plays Home Assistant and publishes what the
"Feed now" button publishes; a simulated feeder on /ws/device/ answers each FeedNow as done.
Presses go one at a time (a latency, not a throughput), each bounded by --timeout.

Target: p99 <= 1 s.

    .venv/bin/python bench/homeassistant.py [--presses 200] [--timeout 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import bench_env, owner_create  # noqa: E402

PREFIX = "cf-bench"
PRESS = json.dumps({"grams": 10})  # what the "Feed now" button's discovery config publishes
PAUSE = 0.1  # seconds between presses: the CommandResult is handled first, and the socket stays under its rate limit
TARGET_P99 = 1000  # ms


def home_create(owner: Any) -> tuple[int, int, str]:
    """A feeder of the bench owner's household, its device token, and the household's Home Assistant link on."""
    from apps.feeders.models import Feeder
    from apps.feeders.services.devices import device_token_create
    from apps.homeassistant.services import home_assistant_set
    from apps.households.services import household_for_write

    household = household_for_write(user=owner, household_id=None)
    feeder = Feeder.objects.create(household=household, name="Kitchen", mac="F0:00:00:00:00:01")
    home_assistant_set(user=owner, household_id=household.pk, enabled=True)
    return household.pk, feeder.pk, device_token_create(feeder=feeder)[1]


def feeder_online(feeder_id: int) -> bool:
    from apps.feeders.models import Feeder

    return Feeder.objects.filter(pk=feeder_id, is_online=True).exists()


def commands_written() -> dict[int, float]:
    """When each command row was written (epoch seconds), by id: where the time went."""
    from apps.feeders.models import FeedCommand

    return {pk: at.timestamp() for pk, at in FeedCommand.objects.values_list("pk", "created_at")}


class SimulatedFeeder:
    """A simulated feeder on /ws/device/: notes when each FeedNow arrives, then reports it done."""

    def __init__(self) -> None:
        self.arrived: asyncio.Queue[tuple[int, float, float]] = asyncio.Queue()

    async def run(self, url: str, token: str, stop: asyncio.Event) -> None:
        from websockets.asyncio.client import connect

        async with connect(f"{url}/ws/device/", additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            while not stop.is_set():
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.5))
                except TimeoutError:
                    continue
                if frame.get("type") == "FeedNow":
                    self.arrived.put_nowait((frame["command_id"], time.perf_counter(), time.time()))
                    await ws.send(json.dumps({"type": "CommandResult", "id": "r", "command_id": frame["command_id"],
                                              "status": "done", "grams_dispensed": frame["grams"]}))  # fmt: skip


async def presses(
    ha: Any, topic: str, feeder: SimulatedFeeder, count: int, timeout: float
) -> tuple[list[float], int, dict[int, float]]:
    """Latencies (seconds) of `count` presses, how many were lost, and each command's press time (epoch)."""
    latencies: list[float] = []
    lost, pressed_at = 0, {}
    for _ in range(count):
        while not feeder.arrived.empty():  # a lost press's FeedNow, come late: not this press's
            feeder.arrived.get_nowait()
        started, wall = time.perf_counter(), time.time()
        ha.client.publish(topic, PRESS, qos=1)  # paho's own thread sends it: this call does not wait
        try:
            command_id, arrived, _ = await asyncio.wait_for(feeder.arrived.get(), timeout)
        except TimeoutError:
            lost += 1
            continue
        latencies.append(arrived - started)
        pressed_at[command_id] = wall
        await asyncio.sleep(PAUSE)
    return latencies, lost, pressed_at


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds a press may take before it counts lost")
    args = parser.parse_args()

    logs = Path(tempfile.mkdtemp(prefix="cf-bench-ha-logs-"))
    from apps.homeassistant.tests.mqtt import Mosquitto

    mosquitto = Mosquitto(logs)
    env = {**bench_env(), "MQTT_URL": mosquitto.url, "MQTT_TOPIC_PREFIX": PREFIX}
    os.environ.update(env)
    from apps.infra.embedded_redis import EmbeddedRedis

    redis = EmbeddedRedis(Path(env["CATFEEDER_VAR_DIR"])) if not os.environ.get("REDIS_URL") else None
    if redis is not None:
        redis.start()
    try:
        run(args, env, mosquitto, logs)
    except BaseException:
        print(f"the processes' logs are kept in {logs}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(logs, ignore_errors=True)
    finally:
        if redis is not None:
            redis.stop()
        mosquitto.stop()
        shutil.rmtree(env["CATFEEDER_VAR_DIR"], ignore_errors=True)


def run(args: argparse.Namespace, env: dict[str, str], mosquitto: Any, logs: Path) -> None:
    owner = owner_create()
    household_id, feeder_id, token = home_create(owner)
    from apps.homeassistant.tests.mqtt import HomeAssistant
    from catfeeder.testing import AsgiServer, CeleryWorker, Process

    root = f"{PREFIX}/{household_id}"
    ha = HomeAssistant(mosquitto.port, PREFIX)
    processes: list[Any] = [AsgiServer(env=env, log_dir=logs)]
    try:
        processes.append(CeleryWorker(env=env, log_dir=logs))
        processes.append(Process("bridge", [sys.executable, "manage.py", "homeassistant"], env=env, log_dir=logs))
        ha.wait(lambda: ha.last.get(f"{PREFIX}/bridge/availability") == b"online", "the bridge online")
        ha.wait(lambda: any(t.startswith(f"{root}/button/") for t in ha.last), "the Feed now button")
        loads = [os.getloadavg()[0]]
        latencies, lost, pressed_at = asyncio.run(
            measure(ha, processes[0].ws_url, token, feeder_id, f"{root}/feeder/{feeder_id}/feed", args)
        )
        loads.append(os.getloadavg()[0])
    finally:
        ha.stop()
        for process in reversed(processes):
            process.stop()
    report(args, latencies, lost, pressed_at, loads)


async def measure(
    ha: Any, ws_url: str, token: str, feeder_id: int, topic: str, args: argparse.Namespace
) -> tuple[list[float], int, dict[int, float]]:
    from asgiref.sync import sync_to_async

    feeder, stop = SimulatedFeeder(), asyncio.Event()
    socket = asyncio.create_task(feeder.run(ws_url, token, stop))
    try:
        deadline = time.monotonic() + 30
        while not await sync_to_async(feeder_online)(feeder_id):
            if time.monotonic() > deadline or socket.done():
                raise TimeoutError("the simulated feeder did not come online within 30 s")
            await asyncio.sleep(0.2)
        await presses(ha, topic, feeder, 5, args.timeout)  # warm-up: first queries, first connections
        return await presses(ha, topic, feeder, args.presses, args.timeout)
    finally:
        stop.set()
        await asyncio.gather(socket, return_exceptions=True)


def report(
    args: argparse.Namespace, latencies: list[float], lost: int, pressed_at: dict[int, float], loads: list[float]
) -> None:
    database = (os.environ.get("DATABASE_URL") or "sqlite").split(":")[0]
    print(f"Home Assistant press -> FeedNow at the feeder: {len(latencies)}/{args.presses} presses, one at a time; "
          f"{database}, {'Redis at REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded Redis'}")  # fmt: skip
    print(f"load average (1 min) before and after: {', '.join(f'{x:.2f}' for x in loads)} ({os.cpu_count()} cores)")
    if not latencies:
        print(f"no press reached the feeder within {args.timeout:g} s")
        return
    written = commands_written()
    to_row = [written[pk] - at for pk, at in pressed_at.items() if pk in written]
    if to_row:
        print(f"  press -> command row written (broker, bridge, service): p50 {percentile(to_row, 0.5) * 1000:.0f} "
              f"ms, p99 {percentile(to_row, 0.99) * 1000:.0f} ms")  # fmt: skip
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    met = "met" if p99 <= TARGET_P99 and not lost else "NOT met"
    print(f"press -> FeedNow: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
          f"lost {lost} (target p99 <= {TARGET_P99} ms: {met})")  # fmt: skip


if __name__ == "__main__":
    main()
