"""The reference topology (tests/cluster/topology.py), built once per session for the scenarios.

CLUSTER_FEEDERS sets how many simulated feeders connect through the balancer (the issue's 300 in
`make test-cluster`; fewer in CI, whose machine the whole suite shares). The scenarios need root
and Debian's PostgreSQL, Redis and HAProxy binaries; without them they skip and say why.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterator

import pytest
from django.conf import settings

from catfeeder.testing import wait_until
from tests.cluster.cluster import Cluster, missing_binaries
from tests.cluster.fleet import OWNER, Agent, Feeders, LivePage
from tests.cluster.topology import netns_usable, stale_remove

FEEDERS = int(os.environ.get("CLUSTER_FEEDERS", "60"))
# `make test-cluster` runs every scenario; the suite runs the short version, once per CI run (on
# the PostgreSQL leg: the cluster brings its own services, so the leg changes nothing for it).
FULL = os.environ.get("CATFEEDER_CLUSTER") == "full"
ONLINE_WITHIN = 60 + FEEDERS  # seconds for the whole cast to pair and say hello, on a loaded machine


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed scenario's report ends with every host's log: CI keeps nothing else of the topology."""
    report = yield
    built = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and call.when == "call" and isinstance(built, Cluster):
        report.sections.append(("the topology's logs", built.describe()))
    return report


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    if reason := netns_usable() or missing_binaries():
        pytest.skip(reason)
    if not FULL and settings.EMBEDDED_REDIS:
        pytest.skip("the short version runs once per CI run, on the PostgreSQL leg (`make test-cluster`: all)")
    stale_remove()
    built = Cluster()
    started = time.monotonic()
    try:
        built.build()
        built.start_data()
        built.start_balancer()
        built.start_roles()
    except BaseException:
        print(built.describe())  # noqa: T201 - shown with the failure: why a host did not come up
        built.stop_all()
        built.remove()
        raise
    print(f"\nthe topology up in {time.monotonic() - started:.0f} s")  # noqa: T201
    try:
        yield built
    finally:
        built.stop_all()
        built.remove()


@pytest.fixture(scope="session")
def agent(cluster: Cluster) -> Iterator[Agent]:
    started = Agent(cluster)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def feeders(cluster: Cluster, agent: Agent) -> Iterator[Feeders]:
    fleet = Feeders(cluster, FEEDERS)
    started = time.monotonic()
    try:
        wait_until(lambda: fleet.running() and agent("online", owner=OWNER) == FEEDERS, timeout=ONLINE_WITHIN,
                   what=f"{FEEDERS} simulated feeders online", interval=1)  # fmt: skip
        print(f"\n{FEEDERS} feeders paired and online in {time.monotonic() - started:.0f} s")  # noqa: T201
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture(scope="session")
def live_page(cluster: Cluster, agent: Agent, feeders: Feeders) -> Iterator[LivePage]:
    page = LivePage(cluster, agent("session_token", owner=OWNER))
    try:
        try:
            wait_until(lambda: page.connections > 0, timeout=30, what="the owner's live page connected")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}: {page.last_error}") from None
        yield page
    finally:
        page.stop()
