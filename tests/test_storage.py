"""The storage from settings, and its canary check, on moto's S3 server and on the filesystem."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage, storages
from moto.server import ThreadedMotoServer

from apps.infra.storage import storage_canary_check
from catfeeder.testing import BASE_DIR, process_env
from conftest import s3_bucket_create, s3_storages

SHOW_STORAGE = """
import json, django
django.setup()
from django.core.files.storage import storages
s = storages["default"]
keys = ("bucket_name", "endpoint_url", "public_endpoint_url", "addressing_style", "checksums", "file_overwrite",
        "querystring_expire", "location")
print(json.dumps({"class": type(s).__name__, **{k: str(getattr(s, k, None)) for k in keys},
                  "url": s.url("photos/t/original.jpg") if hasattr(s, "bucket_name") else None}))
"""


def storage_from_env(**env: str) -> dict[str, Any]:
    environment = process_env(**env)
    for name in ("S3_BUCKET", "S3_ENDPOINT_URL", "S3_PUBLIC_ENDPOINT_URL", "S3_ADDRESSING_STYLE", "S3_CHECKSUMS"):
        if name not in env:
            environment.pop(name, None)
    argv = [sys.executable, "-c", SHOW_STORAGE]
    done = subprocess.run(argv, capture_output=True, text=True, env=environment, cwd=BASE_DIR, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_without_a_bucket_files_go_to_var_media() -> None:
    shown = storage_from_env()
    assert shown["class"] == "FileSystemStorage"
    assert shown["location"].endswith("/media")


def test_an_s3_compatible_server_gets_path_style_lean_checksums_and_urls_for_its_public_endpoint() -> None:
    shown = storage_from_env(
        S3_BUCKET="pets", S3_ENDPOINT_URL="http://minio:9000", S3_PUBLIC_ENDPOINT_URL="https://files.example.com",
        S3_ACCESS_KEY_ID="minio", S3_SECRET_ACCESS_KEY="minio-secret", S3_SIGNED_URL_SECONDS="120",
    )  # fmt: skip
    assert shown["class"] == "S3Storage"
    assert (shown["bucket_name"], shown["endpoint_url"]) == ("pets", "http://minio:9000")
    assert (shown["addressing_style"], shown["checksums"]) == ("path", "when_required")
    assert (shown["file_overwrite"], shown["querystring_expire"]) == ("False", "120")
    assert shown["url"].startswith("https://files.example.com/pets/photos/t/original.jpg?")
    assert "X-Amz-Signature=" in shown["url"]


def test_aws_gets_its_own_defaults() -> None:
    shown = storage_from_env(S3_BUCKET="pets", S3_ACCESS_KEY_ID="AKIA", S3_SECRET_ACCESS_KEY="secret")
    assert (shown["endpoint_url"], shown["addressing_style"], shown["checksums"]) == ("None", "auto", "when_supported")


def test_a_wrong_choice_stops_start_up_naming_the_variable() -> None:
    environment = process_env(S3_BUCKET="pets", S3_CHECKSUMS="sometimes")
    argv = [sys.executable, "manage.py", "check"]
    done = subprocess.run(argv, capture_output=True, text=True, env=environment, cwd=BASE_DIR, timeout=60, check=False)
    assert done.returncode != 0
    assert "S3_CHECKSUMS='sometimes' is not one of when_required, when_supported" in done.stderr


# -- the canary check ------------------------------------------------------------------
def test_the_canary_is_ok_on_s3_and_leaves_nothing_behind(s3_server: str) -> None:
    storage = storages.create_storage(s3_storages(s3_server, s3_bucket_create(s3_server))["default"])
    # "degraded" is past half the timeout: a loaded test machine is slow, not degraded.
    status, detail = storage_canary_check(storage=storage, timeout=30)
    assert (status, detail.split(":")[0]) == ("ok", "S3Storage")
    assert "wrote, read back and deleted" in detail
    assert list(storage.bucket.objects.all()) == []


def test_the_canary_is_ok_on_the_filesystem_and_leaves_nothing_behind(tmp_path: Path) -> None:
    status, _ = storage_canary_check(storage=FileSystemStorage(location=tmp_path), timeout=10)
    assert status == "ok"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_the_canary_is_down_when_the_s3_server_is_stopped() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    storage = storages.create_storage(s3_storages(f"http://{host}:{port}", "b", max_attempts=1)["default"])
    server.stop()
    status, detail = storage_canary_check(storage=storage, timeout=10)
    assert status == "down"
    assert "Could not connect" in detail


def test_the_canary_is_down_when_the_disk_refuses(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "media"
    not_a_folder.write_text("a file where the media folder should be")
    status, detail = storage_canary_check(storage=FileSystemStorage(location=not_a_folder), timeout=10)
    assert status == "down"
    assert "FileSystemStorage" in detail


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_the_canary_gives_up_at_its_timeout_when_the_server_never_answers(silent_server: str) -> None:
    storage = storages.create_storage(s3_storages(silent_server, "b", read_timeout=5, max_attempts=1)["default"])
    status, detail = storage_canary_check(storage=storage, timeout=0.5)
    assert status == "down"
    assert "no answer within 0.5 s" in detail


class RecordingStorage(FileSystemStorage):
    """Records the thread of each save; a save can be held until `release` is set."""

    def __init__(self, location: Path) -> None:
        super().__init__(location=location)
        self.threads: list[int] = []
        self.release = threading.Event()
        self.release.set()

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        self.threads.append(threading.get_ident())
        self.release.wait(30)
        return super().save(name, content, max_length=max_length)


def test_the_canaries_of_a_storage_run_on_one_thread(tmp_path: Path) -> None:
    """django-storages builds an S3 client per thread: one thread builds it once."""
    storage = RecordingStorage(tmp_path)
    assert [storage_canary_check(storage=storage, timeout=10)[0] for _ in range(3)] == ["ok"] * 3
    assert len(storage.threads) == 3
    assert len(set(storage.threads)) == 1
    assert threading.get_ident() not in storage.threads


def test_checks_while_a_canary_hangs_share_it_and_start_no_more(tmp_path: Path) -> None:
    storage = RecordingStorage(tmp_path)
    storage.release.clear()
    first = storage_canary_check(storage=storage, timeout=0.3)
    second = storage_canary_check(storage=storage, timeout=0.3)
    assert first == second == ("down", "RecordingStorage: no answer within 0.3 s")
    assert len(storage.threads) == 1  # the second check waited on the hung one
    storage.release.set()
    assert storage_canary_check(storage=storage, timeout=10)[0] == "ok"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
