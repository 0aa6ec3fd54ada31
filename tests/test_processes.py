"""Work crossing process boundaries through the real Redis: tasks and groups."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from apps.ops.selectors import beat_last_tick
from catfeeder.celery import app
from catfeeder.testing import BASE_DIR, CeleryWorker, process_env, wait_until

LISTENER = """
import asyncio, json, django
django.setup()
from channels.layers import get_channel_layer

async def main():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("feeder-42", channel)
    print("joined", flush=True)
    message = await asyncio.wait_for(layer.receive(channel), 20)
    print(json.dumps(message), flush=True)

asyncio.run(main())
"""


def test_a_task_sent_here_runs_on_the_worker_process(celery_worker: CeleryWorker) -> None:
    result = app.send_task("apps.tasks.tasks.worker_ping_task")
    assert result.get(timeout=20) == "pong"
    assert f"worker ping {result.id} answered" in celery_worker.output()


def test_the_beat_heartbeat_task_run_by_the_worker_is_seen_here(celery_worker: CeleryWorker) -> None:
    before = timezone.now() - timedelta(seconds=1)  # ticks are stored to the second
    app.send_task("apps.tasks.tasks.beat_heartbeat_task")  # ignores its result: watch its effect
    wait_until(lambda: (beat_last_tick() or before) > before, timeout=20, what="heartbeat recorded")
    tick = beat_last_tick()
    assert tick is not None
    assert tick <= timezone.now()


def test_a_channels_group_message_crosses_processes() -> None:
    listener = subprocess.Popen(
        [sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True, env=process_env(), cwd=BASE_DIR
    )
    try:
        assert listener.stdout is not None
        assert listener.stdout.readline().strip() == "joined"
        async_to_sync(get_channel_layer().group_send)("feeder-42", {"type": "feed.now", "grams": 15})
        received = json.loads(listener.stdout.readline())
    finally:
        listener.kill()
        listener.wait()
    # The layer names the group in the message (the sockets' hub shares one channel among its groups).
    assert received == {"type": "feed.now", "grams": 15, "__group__": "feeder-42"}
