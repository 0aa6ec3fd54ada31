"""Loaded into a test's own Celery worker (`--include tests.support.chaos`): on demand, the
process delivering a feed command stops, says who it is, and waits to be killed with SIGKILL.

The test pushes "before" or "after" to KILLS: the next delivery stops before it has
handed its commands to the channel layer, or after the first of them, the two places a crash hurts. The
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
_send = events.commands_to_device_now


def _deliver_or_die(commands: list[Any], *, resend: bool = False) -> None:
    """ "after": the first command has gone when the process dies, the others not."""
    client = redis_client()
    when = client.lpop(KILLS) if commands else None
    if when == "after":
        _send(commands[:1], resend=resend)
    if when:
        victim = {"pid": os.getpid(), "command_id": commands[0].pk, "when": when}
        client.rpush(VICTIMS, json.dumps(victim))
        time.sleep(60)  # the test kills this process now
        raise RuntimeError("chaos: nobody killed this worker")
    _send(commands, resend=resend)


events.commands_to_device_now = _deliver_or_die
