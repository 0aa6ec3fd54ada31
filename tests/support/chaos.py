"""Loaded into a test's own Celery worker (`--include tests.support.chaos`): on demand, the
process delivering a feed command stops, says who it is, and waits to be killed with SIGKILL.

The test pushes "before" or "after" to KILLS: the next delivery stops before or after
it has handed the command to the channel layer, the two places a crash hurts. The
victim's pid and command id go to VICTIMS; the test kills it from outside (kill -9).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from apps.feeders import events
from apps.ops.redis import redis_client

KILLS = "chaos:kill-during-delivery"
VICTIMS = "chaos:victims"
_send = events.command_to_device_now


def _deliver_or_die(command: Any, *, resend: bool = False) -> None:
    client = redis_client()
    when = client.lpop(KILLS)
    if when == "after":
        _send(command, resend=resend)
    if when:
        client.rpush(VICTIMS, json.dumps({"pid": os.getpid(), "command_id": command.pk, "when": when}))
        time.sleep(60)  # the test kills this process now
        raise RuntimeError("chaos: nobody killed this worker")
    _send(command, resend=resend)


events.command_to_device_now = _deliver_or_die
