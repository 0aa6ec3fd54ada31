from __future__ import annotations

from typing import Any

from channels.layers import get_channel_layer

from apps.devreload import state
from apps.devreload.changes import PageUpdate
from apps.devreload.selectors import failures_current, pages_group


async def pages_send(*, message: dict[str, Any]) -> None:
    """Send one message to every page connected to this server."""
    await get_channel_layer().group_send(pages_group(), {"type": "devreload.message", "message": message})


async def pages_update(*, update: PageUpdate) -> None:
    if update.reload:
        await pages_send(message={"type": "reload", "files": list(update.files)})
    elif update.stylesheets:
        await pages_send(message={"type": "css", "urls": list(update.stylesheets)})


async def failure_set(*, route: str, output: str | None) -> None:
    """Record a route's failure (or its recovery, with None) and tell the pages if that changed."""
    with state.failures_lock:
        before = state.failures.get(route)
        if output is None:
            state.failures.pop(route, None)
        else:
            state.failures[route] = output
    if before != output:
        await pages_send(message={"type": "failures", "failures": failures_current()})
