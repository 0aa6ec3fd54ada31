"""One correlation id per request, carried into the task it starts and into every log line."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from catfeeder.runtime.logs import logs_read
from catfeeder.testing import AsgiServer, CeleryWorker, process_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "c0rrelation-test-token-123456"  # noqa: S105 - a test token


def test_a_request_id_is_answered_and_reaches_the_task_it_starts(
    celery_worker: CeleryWorker, process_logs: Path
) -> None:
    server = AsgiServer(env=process_env(OPS_TOKEN=TOKEN), log_dir=process_logs)
    try:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{server.url}/api/ops/worker-ping",
            method="POST",
            headers={"Authorization": f"Bearer {TOKEN}", "X-Request-ID": "req-4711-abcdef"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 202
            assert response.headers["X-Request-ID"] == "req-4711-abcdef"
            task_id = json.loads(response.read())["task_id"]
        with urllib.request.urlopen(f"{server.url}/health/live", timeout=5) as response:  # noqa: S310
            minted = response.headers["X-Request-ID"]
    finally:
        server.stop()
    assert len(minted) == 32  # a fresh one for a request that brought none

    def logged(process: str, text: str) -> bool:
        records = logs_read(log_dir=settings.LOG_DIR, since=timezone.now() - timedelta(minutes=5), count=0,
                            process=process)  # fmt: skip
        return any(text in r.event and r.fields.get("correlation_id") == "req-4711-abcdef" for r in records)

    assert logged("web", "POST /api/ops/worker-ping 202")
    wait_until(lambda: logged("worker", task_id), timeout=20, what="the task's log line with the request's id")


def test_each_socket_message_gets_its_own_correlation_id() -> None:
    from asgiref.sync import async_to_sync
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.testing import WebsocketCommunicator

    from apps.ops.correlation import CorrelatedConsumerMixin, correlation_id_get

    class Echo(CorrelatedConsumerMixin, AsyncWebsocketConsumer):
        async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
            await self.send(text_data=correlation_id_get())

    async def talk() -> list[str]:
        communicator = WebsocketCommunicator(Echo.as_asgi(), "/ws/echo/")
        connected, _ = await communicator.connect()
        assert connected
        ids = []
        for text in ("one", "two"):
            await communicator.send_to(text_data=text)
            ids.append(await communicator.receive_from())
        await communicator.disconnect()
        return ids

    first, second = async_to_sync(talk)()
    assert first != second
    assert len(first) == len(second) == 32
