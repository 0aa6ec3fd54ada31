"""Many hosts (docs/deploy.md): the scenarios, in order, on one topology of network namespaces.

Each scenario leaves the topology whole for the next: a drained web host comes back under
`serve`, a killed one is started again. Simulated feeders and an owner's live page hold their
sockets through the balancer all along; every meal is checked in the database (one command per
slot, done, one feeding each) and at the devices (dispensed once).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import redis

from catfeeder.testing import SERVE_START_TIMEOUT, wait_until
from tests.cluster.cluster import BEAT_LOCK_TTL, Cluster
from tests.cluster.conftest import FEEDERS, FULL
from tests.cluster.fleet import OWNER, Agent, Feeders, LivePage

pytestmark = [
    pytest.mark.long,
    pytest.mark.xdist_group("cluster"),  # one topology per session: every scenario on the same worker
    pytest.mark.timeout(1200),
]
full_only = pytest.mark.skipif(not FULL, reason="`make test-cluster` runs it (CATFEEDER_CLUSTER=full)")
DELIVERED_WITHIN = 120  # seconds for a round of meals to be served and answered, on a loaded machine
GRAMS = 5
CUT = float(os.environ.get("CLUSTER_CUT", "30"))  # seconds worker1 is cut off from the data host
SHARD_DOWN = 10  # seconds the second Redis is away: several of the layer's reconnect attempts


def served_exactly_once(agent: Agent, feeders: Feeders, ids: list[int]) -> None:
    """Every command done, with one feeding recorded, and dispensed once by its device."""

    def all_done() -> bool:
        rows = agent("commands", ids=ids)
        return len(rows) == len(ids) and all(row["status"] == "done" for row in rows.values())

    wait_until(all_done, timeout=DELIVERED_WITHIN, what=f"{len(ids)} commands done", interval=1)
    rows = agent("commands", ids=ids)
    assert {pk: row["feedings"] for pk, row in rows.items()} == {str(pk): 1 for pk in ids}
    dispensed = feeders.dispensed()
    assert {pk: dispensed[pk] for pk in ids} == dict.fromkeys(ids, 1)


def a_round_of_meals(agent: Agent, feeders: Feeders) -> list[int]:
    """Every feeder's meal falls due and "feed now" is pressed on every feeder: both served exactly once."""
    since = agent("meals_due", owner=OWNER, grams=GRAMS)
    pressed = agent("feed_now", owner=OWNER, grams=GRAMS)
    wait_until(lambda: len(agent("meal_commands", owner=OWNER, since=since)) >= FEEDERS, timeout=DELIVERED_WITHIN,
               what="every slot dispatched", interval=1)  # fmt: skip
    meals = agent("meal_commands", owner=OWNER, since=since)
    assert len(meals) == FEEDERS  # one command per slot, whichever beat and worker ran it
    ids: list[int] = meals + pressed
    served_exactly_once(agent, feeders, ids)
    return ids


def heard_live(page: LivePage, ids: list[int]) -> None:
    wait_until(lambda: all("done" in page.statuses[pk] for pk in ids), timeout=DELIVERED_WITHIN,
               what="the owner's live page told of every command done", interval=0.5)  # fmt: skip


def held_on(agent: Agent, host: str) -> int:
    """The sockets `host` holds, once its instances have counted any: a scenario may run first, just
    after the feeders came online and before the instances' next heartbeat reports their sockets."""
    wait_until(lambda: agent("sockets").get(host, 0) > 0, timeout=60, what=f"sockets counted on {host}", interval=1)
    held: int = agent("sockets")[host]
    return held


def moved(agent: Agent, on_web2: int) -> bool:
    """Every feeder online and counted again, and web2 holding more sockets than before the drain."""
    sockets = agent("sockets")
    back = agent("online", owner=OWNER) == FEEDERS and sum(sockets.values()) >= FEEDERS
    return bool(back and sockets.get("web2", 0) > on_web2)


def all_on(agent: Agent, host: str) -> None:
    """Every feeder's socket on `host` (its count may include the live page's)."""
    wait_until(lambda: agent("sockets").get(host, 0) >= FEEDERS, timeout=90, what=f"every feeder on {host}", interval=1)


@pytest.fixture(autouse=True)
def wall_time(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each scenario's wall time, printed (`-s` shows it): the issue note reports them."""
    started = time.monotonic()
    yield
    print(f"\n{request.node.name} ({FEEDERS} feeders): {time.monotonic() - started:.0f} s")  # noqa: T201


def test_feeders_spread_over_both_web_hosts(cluster: Cluster, agent: Agent, feeders: Feeders) -> None:
    wait_until(lambda: sum(agent("sockets").values()) >= FEEDERS, timeout=60, what="every socket counted", interval=1)
    per_host = agent("sockets")
    assert set(per_host) == {"web1", "web2"}
    # HAProxy's leastconn: each host holds about half; a quarter leaves room for the reconnects' timing.
    assert min(per_host.values()) >= FEEDERS // 4, per_host
    # The channel layer is sharded: both Redis servers carry subscriptions of the web hosts' sockets.
    for n in (0, 1):
        assert len(redis.Redis.from_url(cluster.redis_url(n)).pubsub_channels("asgi*")) > 0


def test_meals_and_feed_now_reach_feeders_on_both_hosts_exactly_once(
    agent: Agent, feeders: Feeders, live_page: LivePage
) -> None:
    ids = a_round_of_meals(agent, feeders)
    heard_live(live_page, ids)


def test_draining_web1_moves_its_feeders_to_web2_and_no_meal_is_lost_or_doubled(
    cluster: Cluster, agent: Agent, feeders: Feeders, live_page: LivePage
) -> None:
    assert held_on(agent, "web1") > 0
    on_web2 = agent("sockets").get("web2", 0)
    ups = cluster.balancer_says("web1", "UP")
    assert agent("drain", host="web1") >= 1
    # Out of the pool on its readiness, its sockets closed with 1001: its feeders come back through the
    # balancer to web2. Those still backing off when serve has started web1's processes again may
    # land there (the fewest connections): where each ends up is timing, that all are back is not.
    wait_until(lambda: moved(agent, on_web2), timeout=90, what="web1's feeders back, through web2", interval=1)
    heard_live(live_page, a_round_of_meals(agent, feeders))
    wait_until(lambda: cluster.balancer_says("web1", "UP") > ups, timeout=SERVE_START_TIMEOUT, what="web1 back")


@full_only
def test_kill_9_of_web2_moves_its_feeders_to_web1_and_no_meal_is_lost_or_doubled(
    cluster: Cluster, agent: Agent, feeders: Feeders, live_page: LivePage
) -> None:
    assert held_on(agent, "web2") > 0
    ups = cluster.balancer_says("web2", "UP")
    cluster.kill("web2")
    all_on(agent, "web1")
    heard_live(live_page, a_round_of_meals(agent, feeders))
    cluster.restart("web2", "web")
    wait_until(lambda: cluster.balancer_says("web2", "UP") > ups, timeout=SERVE_START_TIMEOUT, what="web2 back")


@full_only
def test_killing_beat1_makes_beat2_take_over_once_the_lock_expires(
    cluster: Cluster, agent: Agent, feeders: Feeders
) -> None:
    standby = cluster.beats["beat2"]
    assert "beat lock taken" not in standby.output()
    cluster.kill("beat1")
    killed = time.monotonic()
    wait_until(lambda: standby.running() and "beat lock taken" in standby.output(), timeout=BEAT_LOCK_TTL * 3,
               what="beat2 holding the lock")  # fmt: skip
    print(f"\nbeat2 took the lock {time.monotonic() - killed:.1f} s after beat1 died (BEAT_LOCK_TTL {BEAT_LOCK_TTL} s)")  # noqa: T201
    a_round_of_meals(agent, feeders)  # beat2 now dispatches the meals
    cluster.beats["beat1"] = cluster.restart("beat1", "beat")  # back, as the standby


@full_only
def test_cutting_worker1_off_from_data_loses_no_task_and_doubles_none(
    cluster: Cluster, agent: Agent, feeders: Feeders, live_page: LivePage
) -> None:
    before = agent("feed_now", owner=OWNER, grams=GRAMS)  # in the worker's hands as the link goes
    cluster.link("worker1", up=False)
    try:
        during = agent("feed_now", owner=OWNER, grams=GRAMS)  # on the broker, no worker can reach it
        time.sleep(CUT)
    finally:
        cluster.link("worker1", up=True)
    served_exactly_once(agent, feeders, before + during)
    heard_live(live_page, before + during)


@full_only
def test_a_channel_layer_shard_killed_and_restarted_loses_no_meal_and_its_events_flow_again(
    cluster: Cluster, agent: Agent, feeders: Feeders, live_page: LivePage
) -> None:
    """The second Redis carries only channel-layer shards: while it is down, the events of the groups
    that hash to it are not delivered; the commands are rows, and the reconciler sends them again."""
    cluster.redis_kill(1)
    try:
        during = agent("feed_now", owner=OWNER, grams=GRAMS)
        time.sleep(SHARD_DOWN)
    finally:
        cluster.redis_start(1)
    wait_until(lambda: cluster.redis_answers(1), timeout=30, what="the second Redis back")
    served_exactly_once(agent, feeders, during)
    heard_live(live_page, a_round_of_meals(agent, feeders))  # events flow on both shards again
