"""FeedNow over the reference topology: feeders spread over two web hosts, then all on one.

The topology of tests/cluster/ (network namespaces: HAProxy, web1, web2, worker1, beat1, beat2,
PostgreSQL and two Redis on `data`; root only), with N simulated feeders
(`manage.py simulate_feeders`) connected through the balancer. Each round makes one meal slot
fall due on every feeder at once (the dispatcher writes N commands, the worker delivers them)
and then has the owner press "feed now" on every feeder, one after the other.

Figure: per command, its row's creation to its device's CommandResult recorded (FeedNow there and
back, read from the command's `created_at` and `completed_at`); p50 and p99 over the rounds, for
the meal slot and for feed now. First with both web hosts in the pool, then with web2 killed
(kill -9) and every feeder moved to web1. Target: two hosts no worse than one.

    sudo .venv/bin/python bench/cluster.py [--feeders 1000] [--rounds 3] [--warmup 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")  # the harness's own, for its imports

from catfeeder.testing import wait_until  # noqa: E402
from tests.cluster.cluster import Cluster, missing_binaries  # noqa: E402
from tests.cluster.fleet import OWNER, Agent, Feeders  # noqa: E402
from tests.cluster.topology import netns_usable, stale_remove  # noqa: E402

GRAMS = 5
ROUND_WITHIN = 300  # seconds for a round's commands to be answered


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def answered(agent: Agent, ids: list[int]) -> list[float]:
    wait_until(lambda: len(agent("round_trips", ids=ids)) == len(ids), timeout=ROUND_WITHIN,
               what=f"{len(ids)} commands answered", interval=1)  # fmt: skip
    trips: list[float] = agent("round_trips", ids=ids)
    return trips


def rounds(agent: Agent, feeders: int, count: int, warmup: int) -> dict[str, list[float]]:
    """`warmup` rounds not counted, then `count` rounds of a meal slot on every feeder, then feed now on every feeder.

    The warm-up is for each leg alike: the two hosts' leg starts on web processes that have not
    delivered yet, the one host's on a web1 that has.
    """
    trips: dict[str, list[float]] = {"meal slot": [], "feed now": []}
    for number in range(warmup + count):
        since = agent("meals_due", owner=OWNER, grams=GRAMS)

        def slot() -> list[int]:
            ids: list[int] = agent("meal_commands", owner=OWNER, since=since)  # noqa: B023 - called in this round
            return ids

        wait_until(lambda: len(slot()) >= feeders, timeout=ROUND_WITHIN, what="the slot dispatched", interval=0.5)
        meal = answered(agent, slot())
        now = answered(agent, agent("feed_now", owner=OWNER, grams=GRAMS))
        counted = number >= warmup
        name = number + 1 - warmup if counted else "warm-up"
        meal_p99, now_p99 = percentile(meal, 0.99) * 1000, percentile(now, 0.99) * 1000
        print(f"    round {name}: meal slot p99 {meal_p99:.0f} ms, feed now p99 {now_p99:.0f} ms", flush=True)
        if counted:
            trips["meal slot"] += meal
            trips["feed now"] += now
        time.sleep(2)  # the last answers' events settle before the next round
    return trips


def all_on(agent: Agent, host: str, feeders: int) -> None:
    wait_until(lambda: agent("sockets").get(host, 0) >= feeders, timeout=300, what=f"every feeder on {host}",
               interval=1)  # fmt: skip


def report(results: dict[str, dict[str, list[float]]], args: argparse.Namespace, load: float) -> None:
    print(f"\nFeedNow round trip (command row -> device's CommandResult recorded), {args.feeders:,} feeders "
          f"through HAProxy, {args.rounds} rounds after {args.warmup} not counted; load average at the start "
          f"{load:.2f}, at the end {os.getloadavg()[0]:.2f}")  # fmt: skip
    for kind in ("meal slot", "feed now"):
        for setup, trips in results.items():
            values = trips[kind]
            print(f"  {kind:9} {setup:10} n={len(values):5}  p50 {percentile(values, 0.5) * 1000:6.0f} ms"
                  f"  p99 {percentile(values, 0.99) * 1000:6.0f} ms  max {max(values) * 1000:6.0f} ms")  # fmt: skip
    two, one = results["two hosts"], results["one host"]
    for kind in ("meal slot", "feed now"):
        worse = percentile(two[kind], 0.99) > percentile(one[kind], 0.99)
        print(f"  {kind}: two hosts' p99 {'WORSE than' if worse else 'no worse than'} one host's (target: no worse)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeders", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="rounds run first on each leg and not counted")
    args = parser.parse_args()
    if reason := netns_usable() or missing_binaries():
        print(f"bench/cluster.py: skipped, {reason}")  # `make bench` goes on with the others
        return
    stale_remove()
    load = os.getloadavg()[0]
    cluster = Cluster()
    try:
        cluster.build()
        cluster.start_data()
        cluster.start_balancer()
        cluster.start_roles()
        results = measure(cluster, args)
    except BaseException:
        print(cluster.describe())
        raise
    finally:
        cluster.stop_all()
        cluster.remove()
    report(results, args, load)


def measure(cluster: Cluster, args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    agent = Agent(cluster)
    feeders = Feeders(cluster, args.feeders)
    try:
        started = time.monotonic()
        wait_until(lambda: feeders.running() and agent("online", owner=OWNER) == args.feeders, timeout=900,
                   what="every feeder online", interval=2)  # fmt: skip
        print(f"{args.feeders:,} feeders paired and online in {time.monotonic() - started:.0f} s")
        results = {"two hosts": rounds(agent, args.feeders, args.rounds, args.warmup)}
        cluster.kill("web2")
        all_on(agent, "web1", args.feeders)
        print(f"web2 killed: {agent('sockets')['web1']} sockets on web1")
        results["one host"] = rounds(agent, args.feeders, args.rounds, args.warmup)
        return results
    finally:
        feeders.stop()
        agent.stop()


if __name__ == "__main__":
    main()
