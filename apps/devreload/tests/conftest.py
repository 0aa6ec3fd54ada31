from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import channel_layers, get_channel_layer

from apps.devreload import state
from apps.devreload.selectors import pages_group

MESSAGE_WAIT = 20.0  # seconds: generous bound for one message on a busy machine


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    # Each test runs its own event loop (asyncio.run); a layer that received on
    # an earlier loop keeps locks bound to it.
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def no_failures() -> Iterator[None]:
    with state.failures_lock:
        state.failures.clear()
    yield
    with state.failures_lock:
        state.failures.clear()


class PageProbe:
    """A channel in this server's pages group: it gets what every open page gets."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel = ""

    async def __aenter__(self) -> PageProbe:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(pages_group(), self.channel)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.layer.group_discard(pages_group(), self.channel)

    async def next(self, timeout: float = MESSAGE_WAIT) -> dict[str, Any]:
        event = await asyncio.wait_for(self.layer.receive(self.channel), timeout)
        return dict(event["message"])
