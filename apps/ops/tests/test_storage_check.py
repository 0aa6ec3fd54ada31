"""The registry's storage check: a canary on the real django-storages S3 backend and moto's S3 server."""

from __future__ import annotations

from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from apps.ops.health import Status, checks_registered, checks_run
from apps.ops.probes import CANARY_S3_OPTIONS, canary_storage
from conftest import S3_TEST_KEYS, s3_bucket_create, s3_storages


def objects(endpoint: str, bucket: str) -> list[str]:
    keys = {"aws_access_key_id": S3_TEST_KEYS["access_key"], "aws_secret_access_key": S3_TEST_KEYS["secret_key"]}
    resource = boto3.resource("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)
    return [obj.key for obj in resource.Bucket(bucket).objects.all()]


def test_storage_is_a_service_shown_in_readiness_that_does_not_decide_it() -> None:
    [check] = [c for c in checks_registered() if c.name == "storage"]
    assert (check.critical, check.shown_in_ready, check.kind) == (False, True, "datastore")


def test_the_storage_check_writes_reads_and_deletes_a_canary_in_the_bucket(s3_server: str, s3_storage: str) -> None:
    [result] = checks_run(names=["storage"])
    assert result.status is Status.OK, result.detail
    assert "S3Storage: wrote, read back and deleted a canary" in result.detail
    assert objects(s3_server, s3_storage) == []  # nothing left behind


def test_the_canary_tries_once_with_short_timeouts_while_uploads_keep_their_retries(
    s3_server: str, s3_storage: str
) -> None:
    from django.core.files.storage import default_storage

    twin: Any = canary_storage()
    assert twin is canary_storage()  # one per configuration, not one per run
    assert (twin.bucket_name, twin.endpoint_url) == (s3_storage, s3_server)
    assert {name: getattr(twin, name) for name in CANARY_S3_OPTIONS} == CANARY_S3_OPTIONS
    assert default_storage.max_attempts == 3  # type: ignore[attr-defined]


def test_the_storage_check_is_down_while_the_s3_server_is_stopped_and_ok_once_it_is_back(settings: Any) -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    settings.STORAGES = s3_storages(endpoint, s3_bucket_create(endpoint))
    server.stop()
    try:
        [down] = checks_run(names=["storage"])
        assert down.status is Status.DOWN
        assert "Could not connect to the endpoint URL" in down.detail
    finally:
        # moto keeps its buckets in this process: the same port serves the same bucket again.
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
    try:
        [back] = checks_run(names=["storage"])
    finally:
        server.stop()
    assert back.status is Status.OK, back.detail
