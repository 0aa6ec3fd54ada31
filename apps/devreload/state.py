"""This server process's live-reload state: its id and its failing listener routes.

The watcher and the consumers it talks to run in the same process (the
runserver child, or uvicorn's reloading worker), so this is process-local:
a restarted server gets a new id, and the pages notice it when they reconnect.
"""

from __future__ import annotations

import secrets
import threading

SERVER_ID = secrets.token_hex(8)

# route pattern -> output of its last failed run; written by the watcher's
# thread, read by consumers on the server's event loop.
failures: dict[str, str] = {}
failures_lock = threading.Lock()
