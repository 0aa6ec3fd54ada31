"""File storage: django-storages' S3 backend made fit for S3-compatible servers,
and helpers that work on any backend (listing, the canary check).

Which backend is the default comes from settings (S3_BUCKET set: `S3Storage`
below; otherwise FileSystemStorage in var/media).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import os
import posixpath
import queue
import secrets
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from storages.backends.s3 import S3Storage as BaseS3Storage
from storages.utils import clean_name

# What a storage call raises when the backend is unreachable, refuses, or its disk fails.
STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError)

CheckStatus = Literal["ok", "degraded", "down"]
CANARY_PREFIX = "canary/"


class S3Storage(BaseS3Storage):
    """S3Storage for AWS and S3-compatible servers (MinIO, Ceph, R2).

    Two additions to django-storages:
    - `public_endpoint_url`: signed URLs are made for this endpoint, not for
      `endpoint_url`. A signature covers the host, so a URL signed for the
      internal address (`http://minio:9000`) cannot be rewritten for clients;
      it must be signed for the address they use.
    - `checksums`: botocore >= 1.36 sends CRC checksums on every upload by
      default ("when_supported"), which several non-AWS servers refuse;
      "when_required" sends them only where S3 demands one.
    """

    client_config: Config

    def get_default_settings(self) -> dict[str, Any]:
        return {
            **super().get_default_settings(),
            "public_endpoint_url": None,
            "checksums": "when_supported",
            "connect_timeout": 5,  # seconds
            "read_timeout": 30,  # seconds
            "max_attempts": 3,  # tries per call, first one included
        }

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.client_config = self.client_config.merge(
            Config(
                request_checksum_calculation=self.checksums,
                response_checksum_validation=self.checksums,
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                retries={"max_attempts": self.max_attempts, "mode": "standard"},
            )
        )
        self._public_clients = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state.pop("_public_clients", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._public_clients = threading.local()

    def _public_client(self) -> Any:
        """A client that only signs (presigning makes no request), one per thread like django-storages'."""
        client = getattr(self._public_clients, "client", None)
        if client is None:
            client = self._create_session().client(
                "s3",
                region_name=self.region_name,
                endpoint_url=self.public_endpoint_url,
                config=self.client_config,
                verify=self.verify,
            )
            self._public_clients.client = client
        return client

    def url(
        self,
        name: str,
        parameters: dict[str, Any] | None = None,
        expire: int | None = None,
        http_method: str | None = None,
    ) -> str:
        if not (self.public_endpoint_url and self.querystring_auth) or self.custom_domain:
            return str(super().url(name, parameters, expire, http_method))
        params = {**(parameters or {}), "Bucket": self.bucket_name, "Key": self._normalize_name(clean_name(name))}
        return str(
            self._public_client().generate_presigned_url(
                "get_object",
                Params=params,
                ExpiresIn=self.querystring_expire if expire is None else expire,
                HttpMethod=http_method,
            )
        )


def signed_url_lifetime(storage: Storage) -> int | None:
    """Seconds a URL from `storage.url()` stays valid, or None when the storage does not sign URLs.

    A storage that does not sign (the filesystem) has no URL a client may use:
    its files are streamed by an owner-checked view instead.
    """
    if isinstance(storage, BaseS3Storage) and storage.querystring_auth and not storage.custom_domain:
        return int(storage.querystring_expire)
    return None


@dataclass(frozen=True)
class StoredFile:
    name: str
    modified: dt.datetime


def storage_files(*, storage: Storage, prefix: str) -> Iterator[StoredFile]:
    """Every file under `prefix` (a folder name ending in "/"), at any depth, with its modification time."""
    if isinstance(storage, BaseS3Storage):
        # One listing request per 1000 objects, times included; listdir would
        # need a request per folder and another per file for its time.
        location = f"{storage.location}/" if storage.location else ""
        for obj in storage.bucket.objects.filter(Prefix=location + prefix):
            yield StoredFile(name=obj.key.removeprefix(location), modified=obj.last_modified)
        return
    yield from _walk(storage, prefix.rstrip("/"))


def _walk(storage: Storage, folder: str) -> Iterator[StoredFile]:
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        path = posixpath.join(folder, name)
        yield StoredFile(name=path, modified=storage.get_modified_time(path))
    for sub in folders:
        yield from _walk(storage, posixpath.join(folder, sub))


def storage_delete(*, storage: Storage, names: list[str]) -> None:
    """Delete files (a missing one is not an error); on disk, also the folders they leave empty."""
    for name in names:
        storage.delete(name)
    if isinstance(storage, FileSystemStorage):
        for folder in sorted({posixpath.dirname(name) for name in names if "/" in name}, reverse=True):
            with contextlib.suppress(OSError):  # not empty, or already gone
                os.rmdir(storage.path(folder))


def storage_canary_check(*, storage: Storage | None = None, timeout: float = 5.0) -> tuple[CheckStatus, str]:
    """Write, read back and delete a small object: ("ok" | "degraded" | "down", detail).

    "degraded" when the round trip took over half of `timeout`; "down" when it
    failed, read back other bytes, or did not finish within `timeout` seconds.
    The work runs on the storage's canary thread (see `_Canary`), so a storage
    call that hangs can neither hold the caller past the timeout nor keep the
    process alive; a check made while a canary runs waits for that one.
    """
    storage = storage or default_storage
    kind = type(storage).__name__
    started = time.monotonic()
    try:
        error = _canary_of(storage).run().result(timeout)
    except concurrent.futures.TimeoutError:
        return "down", f"{kind}: no answer within {timeout:g} s"
    elapsed = time.monotonic() - started
    if error is not None:
        return "down", f"{kind}: {type(error).__name__}: {error}"
    status: CheckStatus = "degraded" if elapsed > timeout / 2 else "ok"
    return status, f"{kind}: wrote, read back and deleted a canary in {elapsed * 1000:.0f} ms"


class _Canary:
    """Runs one storage's canaries on one daemon thread, one at a time.

    django-storages builds an S3 client per thread (about 0.1 s of CPU): a
    thread per check built one per check. The thread ends after IDLE seconds
    without a check. A check made while a canary runs (or hangs) shares its
    outcome instead of starting another, so a hung server gathers no pile of
    canaries.
    """

    IDLE = 60.0

    def __init__(self, storage: Storage) -> None:
        self._storage = weakref.ref(storage)
        self._lock = threading.Lock()
        self._running: concurrent.futures.Future[BaseException | None] | None = None
        self._jobs: queue.SimpleQueue[concurrent.futures.Future[BaseException | None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self) -> concurrent.futures.Future[BaseException | None]:
        with self._lock:
            if self._running is None or self._running.done():
                self._running = concurrent.futures.Future()
                self._jobs.put(self._running)
                if self._thread is None or not self._thread.is_alive():  # not started, idle, or lost in a fork
                    self._thread = threading.Thread(target=self._serve, daemon=True, name="storage-canary")
                    self._thread.start()
            return self._running

    def _serve(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.IDLE)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._thread = None
                        return
                continue
            storage = self._storage()
            if job.set_running_or_notify_cancel():
                gone = ReferenceError("the storage is gone")
                job.set_result(gone if storage is None else _canary_round_trip(storage))
            del storage  # the storage may be let go while the thread waits


_canaries: weakref.WeakKeyDictionary[Storage, _Canary] = weakref.WeakKeyDictionary()
_canaries_lock = threading.Lock()


def _canary_of(storage: Storage) -> _Canary:
    with _canaries_lock:
        canary = _canaries.get(storage)
        if canary is None:
            canary = _canaries[storage] = _Canary(storage)
        return canary


def _canary_round_trip(storage: Storage) -> BaseException | None:
    payload = secrets.token_bytes(16)
    try:
        name = storage.save(f"{CANARY_PREFIX}{secrets.token_hex(8)}.bin", ContentFile(payload))
        try:
            with storage.open(name, "rb") as handle:
                read_back = handle.read()
        finally:
            storage.delete(name)
    except Exception as exc:  # noqa: BLE001 - reported as the check's detail
        return exc
    return None if read_back == payload else ValueError("the canary read back differs")
