"""The registry's storage check: a canary on the real django-storages S3 backend and moto's S3 server."""

from __future__ import annotations

from typing import Any

from apps.ops.health import Status, checks_registered, checks_run
from apps.ops.probes import CANARY_S3_OPTIONS, canary_storage
from apps.ops.tests.conftest import StoppableS3, s3_keys
from conftest import s3_bucket_create, s3_storages


def test_storage_is_a_service_shown_in_readiness_that_does_not_decide_it() -> None:
    [check] = [c for c in checks_registered() if c.name == "storage"]
    assert (check.critical, check.shown_in_ready, check.kind) == (False, True, "datastore")


def test_the_storage_check_writes_reads_and_deletes_a_canary_in_the_bucket(s3_server: str, s3_storage: str) -> None:
    # The check gives up after 2.5 s, and the S3 server is a thread of this process: on a loaded
    # machine (parallel workers) one run may miss that, so a few runs may be needed.
    for _ in range(3):
        [result] = checks_run(names=["storage"])
        if result.status is Status.OK:
            break
    assert result.status is Status.OK, result.detail
    assert "S3Storage: wrote, read back and deleted a canary" in result.detail
    assert s3_keys(s3_server, s3_storage) == []  # nothing left behind


def test_the_canary_tries_once_with_short_timeouts_while_uploads_keep_their_retries(
    s3_server: str, s3_storage: str
) -> None:
    from django.core.files.storage import default_storage

    twin: Any = canary_storage()
    assert twin is canary_storage()  # one per configuration, not one per run
    assert (twin.bucket_name, twin.endpoint_url) == (s3_storage, s3_server)
    assert {name: getattr(twin, name) for name in CANARY_S3_OPTIONS} == CANARY_S3_OPTIONS
    assert default_storage.max_attempts == 3  # type: ignore[attr-defined]


def test_the_storage_check_is_down_while_the_s3_server_is_stopped_and_ok_once_it_is_back(
    stoppable_s3: StoppableS3, settings: Any
) -> None:
    settings.STORAGES = s3_storages(stoppable_s3.url, s3_bucket_create(stoppable_s3.url))
    stoppable_s3.stop()
    [down] = checks_run(names=["storage"])
    assert down.status is Status.DOWN
    assert "Could not connect to the endpoint URL" in down.detail
    stoppable_s3.start()  # the same bucket again
    [back] = checks_run(names=["storage"])
    assert back.status is Status.OK, back.detail
