"""Garbage collection tuned for long-running processes that hold many sockets.

A web process with a thousand device sockets keeps their tasks, contexts and
asgiref Local storages alive, and every message it handles makes short-lived
reference cycles (futures, contexts). With CPython's default (a young
collection every 700 allocations) those cycles outlive two young collections,
reach the old generation, and are only freed by full collections, which walk
everything: bench/dispatch.py measured 0.15 to 0.6 s per full collection during
a 1,000-feeder meal slot, on the event loop thread, and 7 s of them in all.

- `gc.freeze()` after start-up: what importing Django, the URLconf and the
  message registry made (some 280k objects) is never garbage; full
  collections stop walking it.
- A higher young threshold lets a message's cycles die young.
"""

from __future__ import annotations

import gc


def gc_settle(*, young: int) -> None:
    """Call once start-up is done. `young`: allocations between young collections (0: CPython's own)."""
    gc.collect()
    gc.freeze()
    if young:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(young, middle, old)
