from __future__ import annotations

from apps.devreload import state


def server_id() -> str:
    return state.SERVER_ID


def pages_group() -> str:
    """The channel-layer group of this server's pages: one per server process, so
    that two developers sharing a Redis never reload each other's pages."""
    return f"devreload.{state.SERVER_ID}"


def failures_current() -> list[dict[str, str]]:
    with state.failures_lock:
        return [{"route": route, "output": output} for route, output in sorted(state.failures.items())]


def hello_message() -> dict[str, object]:
    return {"type": "hello", "server_id": server_id(), "failures": failures_current()}
