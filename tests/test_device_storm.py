"""A reconnect storm: every feeder of a fleet opens its socket at once (after a restart, a
network outage), signs in with its token and says Hello. None may be lost: each gets its
Welcome and is online. How fast is bench/fleet.py's business; nothing here is timed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from apps.accounts.models import User
from apps.feeders.models import DeviceToken, Feeder
from apps.feeders.selectors.devices import token_hash
from apps.households.tests.factories import household_of
from catfeeder.testing import AsgiServer, process_env

FLEET = 1000  # feeders: the storm queues at the server's sign-in slots, far past their number
AT_ONCE = 100  # handshakes in flight from the test: many more than the server lets in at a time


@pytest.fixture
def storm_server(_asgi_server: AsgiServer, transactional_db: None, process_logs: Path) -> Iterator[AsgiServer]:
    server = AsgiServer(env=process_env(), log_dir=process_logs)  # its own: a thousand channels and groups
    yield server
    server.stop()


def fleet(owner: User, n: int) -> list[str]:
    """`n` feeders of `owner`, each with a device token; the tokens."""
    household = household_of(owner)
    feeders = Feeder.objects.bulk_create(
        Feeder(household=household, name=f"Fleet {i}", mac=f"F1:00:00:{i >> 8 & 255:02X}:{i & 255:02X}:01")
        for i in range(n)
    )
    secrets = [f"storm-secret-{i}-q8Zr4Kx1Vm" for i in range(n)]
    DeviceToken.objects.bulk_create(
        DeviceToken(feeder=feeder, prefix=f"st{i:010x}", secret_hash=token_hash(secret))
        for i, (feeder, secret) in enumerate(zip(feeders, secrets, strict=True))
    )
    return [f"cfd_st{i:010x}_{secret}" for i, secret in enumerate(secrets)]


async def storm(url: str, tokens: list[str]) -> tuple[list[int], list[str]]:
    """Every token's socket at once: the feeder ids welcomed, and what went wrong for the others."""
    gate = asyncio.Semaphore(AT_ONCE)
    welcomed: list[int] = []
    failures: list[str] = []
    sockets = []

    async def one(token: str) -> None:
        async with gate:
            try:
                ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=None)
                sockets.append(ws)
                await ws.send(json.dumps({"type": "Hello", "id": "hello", "firmware": "storm-1.0"}))
                reply = json.loads(await ws.recv())
            except Exception as exc:  # noqa: BLE001 - every loss is reported
                failures.append(repr(exc))
                return
        if reply.get("type") == "Welcome":
            welcomed.append(reply["feeder_id"])
        else:
            failures.append(str(reply))

    async with asyncio.timeout(300):  # a bound on a broken run, not a timing
        await asyncio.gather(*(one(token) for token in tokens))
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return welcomed, failures


def test_a_storm_of_feeders_loses_no_socket(storm_server: AsgiServer, alice: User) -> None:
    tokens = fleet(alice, FLEET)
    welcomed, failures = asyncio.run(storm(f"{storm_server.ws_url}/ws/device/", tokens))
    assert failures == []
    alices = Feeder.objects.filter(household__memberships__user=alice)
    assert sorted(welcomed) == sorted(alices.values_list("pk", flat=True))
    # Each sign-in recorded its feeder online (last_seen_at) before its Welcome went out.
    assert not alices.filter(last_seen_at__isnull=True).exists()
