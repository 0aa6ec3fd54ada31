"""The meal dispatcher at 10k, 100k and 1M schedules (PostgreSQL), beside django-celery-beat.

1. One dispatcher tick with 1,000 due slots among N schedules (N = 10k, 100k,
   1M; COPY-loaded, the other slots spread over the next day): median of 5 (a shared machine is noisy).
   The tick includes queueing the deliveries on the broker.
2. The same 1,000 due meals as django-celery-beat would run them with one
   PeriodicTask per meal, at 10k and 100k: DatabaseScheduler's load of every
   entry (what beat does at start and after any schedule changes), then ticks
   until the 1,000 due are sent (capped at --beat-budget seconds).
3. Due time -> FeedNow received by 1,000 simulated feeders on real sockets:
   web server, worker and beat (MEAL_DISPATCH_INTERVAL=1) run as in
   production; the 1,000 slots fall due 3 s after every feeder is online
   (the connect storm before is not part of a meal); p50 / p99 / max. The
   dispatcher's own worker process delivers to online feeders (no queued task).
   `--stress`: Debian's `stress --cpu 1` keeps one core busy meanwhile.

Targets: tick(1M) / tick(10k) <= 1.2; a 1,000-slot tick <= 1 s; >= 10x faster
than one-PeriodicTask-per-meal at 100k; FeedNow p99 <= 1 s, and <= 2 s under `--stress`.

    .venv/bin/python bench/dispatch.py [--sizes 10000,100000,1000000] [--beat-sizes 10000,100000] [--stress]
    (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/catfeeder_bench_dispatch,
    which the run drops and creates)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import bench_env  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/catfeeder_bench_dispatch"
FEEDERS = 1000
DUE = 1000
COPY_BATCH = 100_000
TICKS = 5  # per size; the median is printed


# -- set-up -------------------------------------------------------------------------------
def database_recreate(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def homes_create() -> tuple[list[int], list[int], list[str]]:
    """FEEDERS feeders, one pet each, and a device token for each feeder."""
    from apps.accounts.models import User
    from apps.feeders.models import Feeder, Pet
    from apps.feeders.services.devices import device_token_create
    from apps.households.services import household_create

    owner = User.objects.create_user(email="bench-dispatch@example.com", password=None)
    household = household_create(user=owner)
    feeders = Feeder.objects.bulk_create(
        [
            Feeder(household=household, name=f"Feeder {n}", mac=f"F0:00:00:00:{n // 256:02X}:{n % 256:02X}")
            for n in range(FEEDERS)
        ]
    )
    pets = Pet.objects.bulk_create(
        [Pet(household=household, name=f"Pet {n}", allowance_grams=100_000) for n in range(FEEDERS)]
    )
    tokens = [device_token_create(feeder=f)[1] for f in feeders]
    return [f.pk for f in feeders], [p.pk for p in pets], tokens


def schedules_grow(*, start: int, end: int, feeder_ids: list[int], pet_ids: list[int]) -> None:
    """COPY schedules start..end-1; none due (slots spread over the next day)."""
    from django.db import connection

    now = dt.datetime.now(dt.UTC)
    columns = "pet_id, feeder_id, times, days_of_week, grams, time_zone, enabled, next_run_at, created_at, updated_at"
    connection.ensure_connection()
    raw = connection.connection
    for low in range(start, end, COPY_BATCH):
        with raw.cursor() as cursor, cursor.copy(f"COPY feeders_mealschedule ({columns}) FROM STDIN") as copy:
            for i in range(low, min(low + COPY_BATCH, end)):
                when = now + dt.timedelta(seconds=3600 + i % 82_800)
                copy.write_row((pet_ids[i % FEEDERS], feeder_ids[i % FEEDERS], '["07:30"]', "[1,2,3,4,5,6,7]", 20,
                                "UTC", True, when, now, now))  # fmt: skip
        raw.commit()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE feeders_mealschedule")


def due_ids() -> list[int]:
    from apps.feeders.models import MealSchedule

    return list(MealSchedule.objects.order_by("id").values_list("pk", flat=True)[:DUE])


def due_reset(ids: list[int], at: dt.datetime) -> None:
    from apps.feeders.models import FeedCommand, MealSchedule

    FeedCommand.objects.all().delete()
    MealSchedule.objects.filter(pk__in=ids).update(next_run_at=at)


def queue_purge() -> None:
    from catfeeder.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)


# -- 1. the dispatcher's tick ----------------------------------------------------------------
def tick_time(ids: list[int]) -> tuple[float, int]:
    from apps.feeders.services import meals as meal_services

    times = []
    for _ in range(TICKS):
        due_reset(ids, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        started = time.perf_counter()
        result = meal_services.meal_slots_dispatch()
        times.append(time.perf_counter() - started)
        queue_purge()
        if result.pending != DUE:
            raise RuntimeError(f"the tick dispatched {result.pending}, not {DUE}")
    return statistics.median(times), result.pending


# -- 2. django-celery-beat, one PeriodicTask per meal ----------------------------------------------
def periodic_tasks_create(count: int) -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    PeriodicTask.objects.filter(name__startswith="meal ")._raw_delete(PeriodicTask.objects.db)
    day = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.DAYS)
    now = dt.datetime.now(dt.UTC)
    for low in range(0, count, 10_000):
        rows = []
        for i in range(low, min(low + 10_000, count)):
            # Due: last run over a day ago. The rest ran within the day.
            last = now - dt.timedelta(days=1, seconds=60) if i < DUE else now - dt.timedelta(seconds=i % 82_800)
            rows.append(PeriodicTask(name=f"meal {i}", task="apps.tasks.tasks.worker_ping_task", interval=day,
                                     kwargs=json.dumps({"schedule_id": i}), last_run_at=last))  # fmt: skip
        PeriodicTask.objects.bulk_create(rows)
    PeriodicTasks.update_changed()


def beat_time(budget: float) -> tuple[float, float, int]:
    """(load all entries, send the due ones, how many were sent within the budget)."""
    from django_celery_beat.schedulers import DatabaseScheduler

    from catfeeder.celery import app

    sent = 0

    class Counting(DatabaseScheduler):  # type: ignore[misc]
        def apply_entry(self, entry: Any, producer: Any = None) -> None:
            nonlocal sent
            if entry.name.startswith("meal "):
                sent += 1
            super().apply_entry(entry, producer=producer)

    started = time.perf_counter()
    scheduler = Counting(app=app)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    while sent < DUE and time.perf_counter() - started < budget:
        scheduler.tick()
    ticking = time.perf_counter() - started
    queue_purge()
    return loaded, ticking, sent


# -- 3. due time -> FeedNow on 1,000 sockets ------------------------------------------------
async def devices_listen(ws_url: str, tokens: list[str], dispense: float, done: asyncio.Event) -> dict[int, float]:
    """Connect every feeder and answer each FeedNow; returns when each got one (or `done` is set).

    The arrival times (epoch seconds) by command id are returned; latencies are
    taken from the slot afterwards, which is set once every feeder is online.
    """
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed

    arrivals: dict[int, float] = {}
    gate = asyncio.Semaphore(20)  # sign-ins at once: more only queue past the 5 s handshake deadline

    async def device(token: str) -> None:
        # A busy server closes a handshake it cannot decide in time (1013): firmware comes back.
        for _ in range(20):
            try:
                async with gate:  # until signed in: the socket is accepted before its sign-in is done
                    ws = await connect(f"{ws_url}/ws/device/", additional_headers={"Authorization": f"Bearer {token}"})
                    await ws.send(json.dumps({"type": "Hello", "id": "hello", "firmware": "bench-1.0"}))
                    while json.loads(await ws.recv()).get("type") != "Welcome":
                        pass
                async with ws:
                    await commands_answer(ws)
                return
            except (ConnectionClosed, OSError):
                await asyncio.sleep(1)

    async def commands_answer(ws: ClientConnection) -> None:
        while not done.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=1))
            except TimeoutError:
                continue
            if frame.get("type") == "FeedNow":
                arrivals.setdefault(frame["command_id"], time.time())
                if len(arrivals) == len(tokens):
                    done.set()
                await asyncio.sleep(dispense)  # the motor turns before the device reports
                await ws.send(json.dumps({"type": "CommandResult", "id": "r", "command_id": frame["command_id"],
                                          "status": "done", "grams_dispensed": frame["grams"]}))  # fmt: skip

    await asyncio.gather(*(device(t) for t in tokens))
    return arrivals


def feeders_online() -> int:
    from apps.feeders.models import Feeder

    return Feeder.objects.filter(is_online=True).count()


class Stress:
    """Debian's `stress --cpu 1`: one process spinning on a core."""

    def __init__(self, *, seconds: int) -> None:
        path = shutil.which("stress")
        if path is None:
            raise SystemExit("--stress needs Debian's stress: apt-get install -y stress")
        self.process = subprocess.Popen([path, "--cpu", "1", "--timeout", str(seconds)], stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def beat_ticked() -> bool:
    """Whether the worker ran beat's heartbeat job, sent with the dispatcher on beat's first tick."""
    from apps.ops.selectors import beat_last_tick

    return beat_last_tick() is not None


def feed_now_latency(
    ids: list[int], tokens: list[str], env: dict[str, str], dispense: float, *, stress: bool = False
) -> list[float]:
    """Every feeder connected and signed in first (a connect storm is not a meal), then the slot."""
    from asgiref.sync import sync_to_async
    from django.core.management import call_command

    from catfeeder.testing import AsgiServer, CeleryBeat, CeleryWorker, wait_until

    call_command("setup_periodic_tasks", verbosity=0)
    due_reset(ids, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))  # nothing due while the feeders connect
    logs = Path(tempfile.mkdtemp(prefix="cf-bench-dispatch-logs-"))
    processes: list[Any] = [AsgiServer(env=env, log_dir=logs)]
    server = processes[0]
    try:
        processes.append(CeleryWorker(env=env, log_dir=logs, args=("--concurrency", "2")))
        processes.append(CeleryBeat(env=env, log_dir=logs))

        async def run() -> tuple[dt.datetime, dict[int, float]]:
            done = asyncio.Event()
            listening = asyncio.create_task(devices_listen(server.ws_url, tokens, dispense, done))
            deadline = time.monotonic() + 120
            while await sync_to_async(feeders_online)() < len(tokens):
                if time.monotonic() > deadline:
                    online = await sync_to_async(feeders_online)()
                    raise TimeoutError(f"{online:,} of the feeders came online within 120 s")
                await asyncio.sleep(0.5)
            # Beat takes seconds to start on a busy machine: a slot due before its first tick would
            # measure the start-up, not a meal.
            await sync_to_async(wait_until)(beat_ticked, timeout=60, what="beat's first tick")
            await asyncio.sleep(2)  # the dispatcher ticks every second by now
            if stress:  # one core busy from before the slot to the end (bounded: it stops on its own)
                processes.append(Stress(seconds=90))
            slot = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=3)
            await sync_to_async(due_reset)(ids, slot)
            try:
                await asyncio.wait_for(done.wait(), timeout=60)
            except TimeoutError:
                done.set()
            return slot, await listening

        slot, arrivals = asyncio.run(run())
        stages_print(slot, arrivals)
        return [at - slot.timestamp() for at in arrivals.values()]
    finally:
        for process in reversed(processes):
            process.stop()


def stages_print(slot: dt.datetime, arrivals: dict[int, float]) -> None:
    """Where the time went: the command row written (dispatcher tick), marked sent (delivery
    task start), and from there to the feeder (channel layer, web process, socket)."""
    from apps.feeders.models import FeedCommand

    rows = list(FeedCommand.objects.values_list("pk", "created_at", "sent_at"))
    for name, values in (
        ("row written", [(c - slot).total_seconds() for _, c, _ in rows]),
        ("marked sent", [(s - slot).total_seconds() for _, _, s in rows if s is not None]),
        ("sent -> received", [arrivals[pk] - s.timestamp() for pk, _, s in rows if s is not None and pk in arrivals]),
    ):
        if values:
            print(
                f"  {name}: p50 {percentile(values, 0.5) * 1000:.0f} ms, p99 {percentile(values, 0.99) * 1000:.0f} ms"
            )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- main --------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--beat-sizes", default="10000,100000")
    parser.add_argument("--beat-budget", type=float, default=120, help="seconds of beat ticks per size at most")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--stress", action="store_true", help="`stress --cpu 1` runs during the FeedNow leg")
    parser.add_argument(
        "--dispense-seconds", type=float, default=0, help="how long a simulated feeder dispenses before CommandResult"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    beat_sizes = [int(s) for s in args.beat_sizes.split(",") if s]

    env = bench_env()
    env["DATABASE_URL"] = os.environ.get("DATABASE_URL") or DEFAULT_DB
    env["MEAL_DISPATCH_INTERVAL"] = "1"
    if not env["DATABASE_URL"].startswith("postgres"):
        sys.exit("bench/dispatch.py needs PostgreSQL: set DATABASE_URL=postgres://…")
    os.environ.update(env)
    database_recreate(env["DATABASE_URL"])
    from apps.infra.embedded_redis import EmbeddedRedis

    redis = None
    if not os.environ.get("REDIS_URL"):
        redis = EmbeddedRedis(Path(env["CATFEEDER_VAR_DIR"]))
        redis.start()
    try:
        run(sizes, beat_sizes, args, env)
    finally:
        if redis is not None:
            redis.stop()


def run(sizes: list[int], beat_sizes: list[int], args: argparse.Namespace, env: dict[str, str]) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    feeder_ids, pet_ids, tokens = homes_create()
    print(f"load average (1 min) at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    print(f"{'schedules':>10} {'load s':>8} {'tick ms':>9} {'vs 10k':>7}   (1,000 due; median of {TICKS})")
    ticks: dict[int, float] = {}
    grown = 0
    for size in sizes:
        started = time.perf_counter()
        schedules_grow(start=grown, end=size, feeder_ids=feeder_ids, pet_ids=pet_ids)
        loaded = time.perf_counter() - started
        grown = size
        ids = due_ids()
        ticks[size], _ = tick_time(ids)
        ratio = ticks[size] / ticks[sizes[0]]
        print(f"{size:>10,} {loaded:>8.1f} {ticks[size] * 1000:>9.1f} {ratio:>7.2f}", flush=True)

    print()
    header = ("PeriodicTasks", "load s", "send 1,000 due s", "sent", "dispatcher ms", "x faster")
    print("{:>13} {:>8} {:>17} {:>6} {:>14} {:>9}".format(*header))
    for size in beat_sizes:
        periodic_tasks_create(size)
        loaded, ticking, sent = beat_time(args.beat_budget)
        per_thousand = ticking * DUE / max(sent, 1)  # extrapolated when the budget ran out
        ours = ticks.get(size) or min(ticks.values())
        speedup = (loaded + per_thousand) / ours
        print(f"{size:>13,} {loaded:>8.1f} {ticking:>17.1f} {sent:>6} {ours * 1000:>14.1f} {speedup:>9.0f}", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:  # one statement: a queryset delete sends a signal (an UPDATE) per row
        cursor.execute("DELETE FROM django_celery_beat_periodictask WHERE name LIKE 'meal %%'")

    if not args.skip_latency:
        stressed = ", stress --cpu 1" if args.stress else ""
        latencies = feed_now_latency(due_ids(), tokens, env, args.dispense_seconds, stress=args.stress)
        print()
        got = len(latencies)
        if got:
            what = f"due -> FeedNow on {got:,}/{len(tokens):,} feeders"
            what += f" (dispensing {args.dispense_seconds:g} s{stressed})"
            target = 2000 if args.stress else 1000
            p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
            worst = max(latencies) * 1000
            print(f"{what}: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {worst:.0f} ms (target p99 <= {target})")
        else:
            print("due -> FeedNow: no feeder received its command")
    print()
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    big, small = sizes[-1], sizes[0]
    print(f"tick({big:,}) / tick({small:,}) = {ticks[big] / ticks[small]:.2f} (target <= 1.2); "
          f"tick({big:,}) = {ticks[big] * 1000:.0f} ms (target <= 1000)")  # fmt: skip


if __name__ == "__main__":
    main()
