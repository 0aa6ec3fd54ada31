"""Pet photos on S3: the real django-storages backend against moto's S3 server on loopback.

Tasks run eagerly in this process (`eager_tasks`), so the after-commit hook,
the task and the service run as in production, with no worker of another
storage configuration competing for them.
"""

from __future__ import annotations

import datetime as dt
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from celery.exceptions import Retry
from django.core.files.storage import default_storage
from django.test import Client
from moto.server import ThreadedMotoServer

from apps.accounts.models import User
from apps.feeders.models import Pet, PetPhoto, PhotoStatus
from apps.feeders.services import photos as photo_services
from apps.feeders.tasks import photo_thumbnails_task
from apps.feeders.tests import images
from apps.feeders.tests.factories import PetFactory
from conftest import s3_bucket_create, s3_storages

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]
Capture = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


@pytest.fixture
def bucket(s3_storage: str, s3_server: str) -> Any:
    keys = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret", "region_name": "us-east-1"}
    return boto3.resource("s3", endpoint_url=s3_server, **keys).Bucket(s3_storage)


@pytest.fixture
def pet(alice: User) -> Pet:
    return PetFactory(owner=alice, name="Tom")


def keys(bucket: Any) -> list[str]:
    return sorted(obj.key for obj in bucket.objects.all())


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback URL we signed
        return bytes(response.read())


def upload(client: Client, pet: Pet, data: bytes | None = None) -> Any:
    file = images.upload("tom.jpg", images.jpeg(800, 600) if data is None else data)
    return client.post(f"/api/pets/{pet.pk}/photos", {"file": file})


def test_an_upload_lands_in_the_bucket_with_its_thumbnails_under_an_unguessable_key(
    as_alice: Client, pet: Pet, bucket: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(as_alice, pet)
    assert response.status_code == 201, response.content
    photo = PetPhoto.objects.get(pk=response.json()["id"])
    assert photo.status == PhotoStatus.READY
    assert len(photo.token) == 24
    prefix = f"photos/{photo.token}/"
    assert keys(bucket) == [f"{prefix}512.webp", f"{prefix}96.webp", f"{prefix}original.jpg"]
    original = bucket.Object(f"{prefix}original.jpg")
    assert original.content_type == "image/jpeg"
    assert bucket.Object(f"{prefix}96.webp").content_type == "image/webp"


def test_the_api_gives_short_lived_signed_urls_that_fetch_the_files(
    as_alice: Client, pet: Pet, bucket: Any, s3_server: str, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        photo_id = upload(as_alice, pet).json()["id"]
    body = as_alice.get(f"/api/photos/{photo_id}").json()
    assert body["status"] == "ready"
    url = urlsplit(body["url"])
    assert f"{url.scheme}://{url.netloc}" == s3_server  # no public endpoint configured: the internal one
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["300"]
    assert "X-Amz-Signature" in query
    expires_at = dt.datetime.fromisoformat(body["urls_expire_at"])
    assert dt.timedelta(seconds=290) < expires_at - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=300)

    assert images.decode(fetch(body["url"])).size == (800, 600)
    sizes = [images.decode(fetch(thumb["url"])).size for thumb in body["thumbnails"]]
    assert sizes == [(96, 72), (512, 384)]


def test_urls_are_signed_for_the_public_endpoint_when_there_is_one(
    as_alice: Client, pet: Pet, s3_server: str, s3_storage: str, settings: Any,
    django_capture_on_commit_callbacks: Capture,
) -> None:  # fmt: skip
    # Same server under another name: the storage talks to 127.0.0.1, clients are told "localhost".
    public = s3_server.replace("127.0.0.1", "localhost")
    settings.STORAGES = s3_storages(s3_server, s3_storage, public_endpoint_url=public)
    with django_capture_on_commit_callbacks(execute=True):
        photo_id = upload(as_alice, pet).json()["id"]
    body = as_alice.get(f"/api/photos/{photo_id}").json()
    for url in (body["url"], *(thumb["url"] for thumb in body["thumbnails"])):
        assert url.startswith(f"{public}/{s3_storage}/photos/"), url  # path-style, public host
        assert "127.0.0.1" not in url
    assert images.decode(fetch(body["url"])).size == (800, 600)
    redirect = as_alice.get(f"/api/photos/{photo_id}/96")
    assert redirect.status_code == 302
    assert redirect["Location"].startswith(f"{public}/")


def test_the_file_route_redirects_to_a_fresh_signed_url(
    as_alice: Client, pet: Pet, bucket: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        photo_id = upload(as_alice, pet).json()["id"]
    response = as_alice.get(f"/api/photos/{photo_id}/512")
    assert response.status_code == 302
    assert images.decode(fetch(response["Location"])).size == (512, 384)


def test_the_client_accepts_non_aws_checksums_and_path_style(s3_storage: str) -> None:
    config = default_storage.connection.meta.client.meta.config
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
    assert config.s3 == {"addressing_style": "path"}


def test_an_upload_never_overwrites_an_existing_object(bucket: Any) -> None:
    first = photo_services._store("photos/same/original.jpg", b"first")
    second = photo_services._store("photos/same/original.jpg", b"second")
    assert first != second
    assert bucket.Object(first).get()["Body"].read() == b"first"


@pytest.mark.parametrize("deleted", ["photo", "pet", "owner"])
def test_deleting_a_photo_its_pet_or_its_owner_deletes_its_objects(
    deleted: str, alice: User, bob: User, as_alice: Client, pet: Pet, bucket: Any,
    django_capture_on_commit_callbacks: Capture,
) -> None:  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        photo_id = upload(as_alice, pet).json()["id"]
        photo_services.photo_create(pet=PetFactory(owner=bob), file=images.upload("b.png", images.png()))  # bob's stays
    assert len(keys(bucket)) == 6
    with django_capture_on_commit_callbacks(execute=True):
        if deleted == "photo":
            assert as_alice.delete(f"/api/photos/{photo_id}").status_code == 204
        elif deleted == "pet":
            assert as_alice.delete(f"/api/pets/{pet.pk}").status_code == 204
        else:
            alice.delete()
    assert len(keys(bucket)) == 3
    assert not PetPhoto.objects.filter(pk=photo_id).exists()


def test_the_orphan_sweep_deletes_old_objects_that_no_row_owns(
    as_alice: Client, pet: Pet, bucket: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        upload(as_alice, pet)
    bucket.put_object(Key="photos/orphan-of-a-crash/original.jpg", Body=images.jpeg())
    bucket.put_object(Key="photos/orphan-of-a-crash/96.webp", Body=b"thumb")
    bucket.put_object(Key="canary/not-a-photo.bin", Body=b"x")
    owned = set(PetPhoto.objects.get().file_names())

    assert photo_services.photo_orphans_delete() == 0  # all young: an upload may still be on its way to its row
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert photo_services.photo_orphans_delete(now=later) == 2
    assert set(keys(bucket)) == owned | {"canary/not-a-photo.bin"}


@pytest.fixture
def stoppable_s3(settings: Any) -> Iterator[ThreadedMotoServer]:
    """An S3 server of this test's own, to stop; nothing else uses it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # One try per call: the client's retries are what a 503 would wait for.
    settings.STORAGES = s3_storages(endpoint, s3_bucket_create(endpoint), max_attempts=1, connect_timeout=2)
    yield server
    server.stop()


def test_with_the_s3_server_down_an_upload_is_503_and_leaves_no_row_while_the_rest_works(
    as_alice: Client, pet: Pet, stoppable_s3: ThreadedMotoServer, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        before = upload(as_alice, pet).json()["id"]
    stoppable_s3.stop()

    response = upload(as_alice, pet)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "urn:catfeeder:problem:storage-unavailable"
    assert response["Retry-After"] == "30"
    assert list(PetPhoto.objects.values_list("pk", flat=True)) == [before]
    # Nothing else needs the bucket: signing a URL makes no request.
    assert as_alice.get(f"/api/pets/{pet.pk}").status_code == 200
    assert as_alice.get("/api/feeders").status_code == 200
    assert as_alice.get(f"/api/photos/{before}").json()["status"] == "ready"
    assert as_alice.get(f"/api/pets/{pet.pk}/photos").json()["count"] == 1


def test_with_the_s3_server_down_thumbnails_wait_and_the_photo_stays_pending(
    pet: Pet, stoppable_s3: ThreadedMotoServer, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        photo = photo_services.photo_create(pet=pet, file=images.upload("tom.png", images.png()))
    stoppable_s3.stop()
    with pytest.raises(photo_services.StorageUnavailable):
        photo_services.photo_thumbnails_make(photo=photo)
    with pytest.raises(Retry):  # the task tries again later (then leaves the photo to the requeue job)
        photo_thumbnails_task.apply(args=[photo.pk])
    assert PetPhoto.objects.get(pk=photo.pk).status == PhotoStatus.PENDING
