"""Pet photos through the REST API, on filesystem storage (the embedded default).

S3 storage has its own tests (test_photos_s3.py); these cover what does not
depend on the backend, and the owner-checked file route the filesystem needs.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from apps.accounts.models import User
from apps.feeders.models import Pet, PetPhoto, PhotoStatus
from apps.feeders.models.photos import MAX_PHOTOS_PER_PET
from apps.feeders.services import photos as photo_services
from apps.feeders.tests import images
from apps.feeders.tests.factories import PetFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
PROBLEM = "application/problem+json"
Capture = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


@pytest.fixture
def pet(alice: User) -> Pet:
    return PetFactory(owner=alice, name="Tom")


def upload(client: Client, pet: Pet, name: str = "tom.jpg", data: bytes | None = None) -> Any:
    file = images.upload(name, images.jpeg() if data is None else data)
    return client.post(f"/api/pets/{pet.pk}/photos", {"file": file})


def stored(media: Path) -> list[str]:
    return sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file())


def photo_of(owner: User, media: Path, capture: Capture) -> PetPhoto:
    """A photo with its thumbnails made, as the task makes them."""
    pet = PetFactory(owner=owner)
    with capture(execute=False):
        photo = photo_services.photo_create(pet=pet, file=images.upload("p.png", images.png(600, 400)))
    return photo_services.photo_thumbnails_make(photo=photo)


def test_an_upload_is_pending_until_its_thumbnails_are_made_after_commit(
    as_alice: Client, pet: Pet, media: Path, django_capture_on_commit_callbacks: Capture, eager_tasks: None
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        response = upload(as_alice, pet, "tom.jpg", images.jpeg(800, 600))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["thumbnails"], body["width"], body["height"]) == ("pending", [], 800, 600)
    assert as_alice.get(f"/api/photos/{body['id']}/96").status_code == 404  # not made yet
    assert len(stored(media)) == 1

    for callback in after_commit:  # the commit: the thumbnail task runs (eagerly, here)
        callback()
    ready = as_alice.get(f"/api/photos/{body['id']}").json()
    assert ready["status"] == "ready"
    assert [t["size"] for t in ready["thumbnails"]] == [96, 512]
    assert ready["urls_expire_at"] is None  # filesystem: API routes, no signed URLs
    for thumb, expected in zip(ready["thumbnails"], [(96, 72), (512, 384)], strict=True):
        file = as_alice.get(thumb["url"])
        assert file["Content-Type"] == "image/webp"
        assert images.decode(b"".join(file.streaming_content)).size == expected
    assert len(stored(media)) == 3


def test_the_original_is_served_to_its_owner_upright_and_without_exif(as_alice: Client, pet: Pet) -> None:
    body = upload(as_alice, pet, "IMG_0001.JPG", images.jpeg_from_a_phone(80, 60)).json()
    response = as_alice.get(body["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"].startswith("private")
    data = b"".join(response.streaming_content)
    assert images.decode(data).size == (60, 80)
    assert not images.decode(data).getexif()
    assert images.SECRET.encode() not in data


@pytest.mark.parametrize(
    ("name", "data", "status", "kind"),
    [
        ("tom.jpg", images.noisy_jpeg(512), 413, "photo-too-large"),
        ("tom.jpg", b"this is not a picture of a cat", 415, "photo-unsupported-type"),
        ("tom.png", images.jpeg(), 422, "photo-extension-mismatch"),
        ("tom.jpg", images.truncated(images.noisy_jpeg(128)), 422, "photo-corrupt"),
        ("tom.png", images.png_bomb(), 422, "photo-too-many-pixels"),
        ("tom.jpg", b"", 422, "photo-empty"),
    ],
    ids=["too-large", "not-an-image", "wrong-extension", "truncated", "decompression-bomb", "zero-bytes"],
)
def test_each_bad_upload_gets_its_documented_error_and_stores_nothing(
    as_alice: Client, pet: Pet, media: Path, settings: Any, name: str, data: bytes, status: int, kind: str
) -> None:
    settings.PHOTO_MAX_BYTES = 150_000  # over the bomb (88 kB), under the noisy 512 px JPEG (300 kB)
    response = upload(as_alice, pet, name, data)
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == f"urn:catfeeder:problem:{kind}"
    assert response.json()["errors"][0]["loc"] == ["body", "file"]
    assert (
        str(status)
        in as_alice.get("/api/openapi.json").json()["paths"]["/api/pets/{pet_id}/photos"]["post"]["responses"]
    )
    assert not PetPhoto.objects.exists()
    assert stored(media) == []


def test_an_upload_without_a_file_is_422(as_alice: Client, pet: Pet) -> None:
    response = as_alice.post(f"/api/pets/{pet.pk}/photos", {"name": "tom"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "missing"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b'{"file": "aGVsbG8="}', "application/json"), (b"\xff\xd8\xff\xe0 a JPEG, raw", "image/jpeg")],
    ids=["json", "raw-bytes"],
)
def test_an_upload_that_is_not_multipart_is_415(
    as_alice: Client, pet: Pet, media: Path, body: bytes, content_type: str
) -> None:
    response = as_alice.post(f"/api/pets/{pet.pk}/photos", body, content_type=content_type)
    assert response.status_code == 415
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "urn:catfeeder:problem:multipart-expected"
    assert "multipart/form-data" in response.json()["detail"]
    assert not PetPhoto.objects.exists()
    assert stored(media) == []


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({f"file{n}": images.upload(f"{n}.jpg", images.jpeg()) for n in range(10)}, 413, "Too many files."),
        ({"file": images.upload("tom.jpg", images.jpeg()), "note": "x" * 5000}, 413, "too large"),
    ],
    ids=["too-many-files", "fields-over-the-body-cap"],
)
def test_a_form_over_the_request_limits_is_413_problem(
    as_alice: Client, pet: Pet, settings: Any, body: dict[str, Any], status: int, detail: str
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # counts form fields, not files
    response = as_alice.post(f"/api/pets/{pet.pk}/photos", body)
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    assert detail in response.json()["detail"]


def test_a_malformed_multipart_body_is_400_problem(as_alice: Client, pet: Pet) -> None:
    response = as_alice.post(f"/api/pets/{pet.pk}/photos", b"--x\r\n\r\n", content_type="multipart/form-data")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM


def test_a_pet_has_a_limited_number_of_photos(as_alice: Client, pet: Pet) -> None:
    PetPhoto.objects.bulk_create(
        PetPhoto(pet=pet, token=f"t{n}", content_type="image/jpeg", width=1, height=1, size_bytes=1, original="x")
        for n in range(MAX_PHOTOS_PER_PET)
    )
    response = upload(as_alice, pet)
    assert response.status_code == 409
    assert f"at most {MAX_PHOTOS_PER_PET}" in response.json()["detail"]


def test_nobody_else_reaches_a_photo_by_its_id_or_its_file_name(
    alice: User, bob: User, charlie: User, media: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    photo = photo_of(bob, media, django_capture_on_commit_callbacks)
    for user in (alice, charlie):
        client = Client()
        client.force_login(user)
        for path in (f"/api/photos/{photo.pk}", f"/api/photos/{photo.pk}/original", f"/api/photos/{photo.pk}/96",
                     f"/api/pets/{photo.pet_id}/photos"):  # fmt: skip
            assert client.get(path).status_code == 404, path
        assert client.delete(f"/api/photos/{photo.pk}").status_code == 404
        # The stored name is unguessable, and even known it is not served: there is no /media/ route.
        assert client.get(f"/media/{photo.original}").status_code == 404
    assert Client().get(f"/api/photos/{photo.pk}/original").status_code == 401
    assert PetPhoto.objects.filter(pk=photo.pk).exists()
    assert len(stored(media)) == 3


def test_the_list_shows_a_pets_photos_newest_first(
    as_alice: Client, pet: Pet, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        first, second = (upload(as_alice, pet).json()["id"] for _ in range(2))
    body = as_alice.get(f"/api/pets/{pet.pk}/photos").json()
    assert [p["id"] for p in body["items"]] == [second, first]
    assert body["count"] == 2


@pytest.mark.parametrize("deleted", ["photo", "pet", "owner"])
def test_deleting_a_photo_its_pet_or_its_owner_deletes_its_files_after_commit(
    deleted: str, alice: User, as_alice: Client, media: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    photo = photo_of(alice, media, django_capture_on_commit_callbacks)
    assert len(stored(media)) == 3
    with django_capture_on_commit_callbacks(execute=True):
        if deleted == "photo":
            assert as_alice.delete(f"/api/photos/{photo.pk}").status_code == 204
        elif deleted == "pet":
            assert as_alice.delete(f"/api/pets/{photo.pet_id}").status_code == 204
        else:
            alice.delete()  # the FK cascade, as account deletion does it
    assert not PetPhoto.objects.filter(pk=photo.pk).exists()
    assert stored(media) == []
    assert list(media.rglob("*")) == [media / "photos"]  # the photo's folder went too


def test_a_rolled_back_deletion_keeps_the_files(
    alice: User, media: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    photo = photo_of(alice, media, django_capture_on_commit_callbacks)

    def delete_then_fail() -> None:
        with transaction.atomic():
            photo.pet.delete()
            raise RuntimeError("changed my mind")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        delete_then_fail()
    assert PetPhoto.objects.filter(pk=photo.pk).exists()
    assert len(stored(media)) == 3


def test_a_photo_deleted_while_its_thumbnails_are_made_leaves_no_files(
    alice: User, media: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        photo = photo_services.photo_create(pet=PetFactory(owner=alice), file=images.upload("p.png", images.png()))
    stale = PetPhoto.objects.get(pk=photo.pk)
    with django_capture_on_commit_callbacks(execute=True):
        photo_services.photo_delete(photo=photo)
    photo_services.photo_thumbnails_make(photo=stale)  # the task had read the row before the deletion
    assert stored(media) == []


def test_a_photo_whose_original_is_missing_is_marked_failed(
    alice: User, media: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        photo = photo_services.photo_create(pet=PetFactory(owner=alice), file=images.upload("p.png", images.png()))
    (media / photo.original).unlink()
    assert photo_services.photo_thumbnails_make(photo=photo).status == PhotoStatus.FAILED
    assert PetPhoto.objects.get(pk=photo.pk).status == PhotoStatus.FAILED


def test_the_orphan_sweep_deletes_old_files_that_no_row_owns_and_nothing_else(
    alice: User, media: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    photo = photo_of(alice, media, django_capture_on_commit_callbacks)
    for name in ("photos/old-orphan/original.jpg", "photos/old-orphan/96.webp", "photos/young-orphan/original.jpg"):
        (media / name).parent.mkdir(parents=True, exist_ok=True)
        (media / name).write_bytes(b"left behind by a crash")
    two_hours_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).timestamp()
    for name in ("photos/old-orphan/original.jpg", "photos/old-orphan/96.webp", *photo.file_names()):
        os.utime(media / name, (two_hours_ago, two_hours_ago))
    (media / "canary").mkdir()
    (media / "canary" / "other.txt").write_bytes(b"not a photo")
    os.utime(media / "canary" / "other.txt", (two_hours_ago, two_hours_ago))

    assert photo_services.photo_orphans_delete() == 2
    assert stored(media) == sorted([*photo.file_names(), "photos/young-orphan/original.jpg", "canary/other.txt"])
    assert not (media / "photos" / "old-orphan").exists()


def test_photos_pending_too_long_are_queued_again_then_given_up(
    alice: User, media: Path, django_capture_on_commit_callbacks: Capture, eager_tasks: None
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        fresh = photo_services.photo_create(pet=PetFactory(owner=alice), file=images.upload("p.png", images.png()))
        stale = photo_services.photo_create(pet=PetFactory(owner=alice), file=images.upload("p.png", images.png()))
        hopeless = photo_services.photo_create(pet=PetFactory(owner=alice), file=images.upload("p.png", images.png()))
    now = dt.datetime.now(dt.UTC)
    PetPhoto.objects.filter(pk=stale.pk).update(created_at=now - dt.timedelta(minutes=11))
    PetPhoto.objects.filter(pk=hopeless.pk).update(created_at=now - dt.timedelta(days=2))

    assert photo_services.photo_thumbnails_requeue(now=now) == 1
    statuses = dict(PetPhoto.objects.values_list("pk", "status"))
    assert statuses == {fresh.pk: "pending", stale.pk: "ready", hopeless.pk: "failed"}
