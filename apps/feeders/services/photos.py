"""Pet photos: the writes (the reads are selectors/photos.py).

An upload is checked and cleaned (images.py), stored under a random token,
and only then given its row; thumbnails are made by a task after commit.
The row is the truth: a file without a row is an orphan, removed by a
periodic job once older than an upload can take; a row still pending after
a lost task is queued again by another.

Deleting a PetPhoto row, however it happens (this module's photo_delete, a
pet's or an owner's deletion cascading to it, the admin), deletes its files
after commit: see `_files_follow_the_row`. Code that deletes an account needs
to call nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import defaultdict
from itertools import islice
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from apps.api.problems import Problem
from apps.feeders.errors import Conflict
from apps.feeders.images import THUMBNAIL_SIZES, photo_clean, thumbnail
from apps.feeders.models import Pet, PetPhoto, PhotoStatus
from apps.feeders.models.photos import MAX_PHOTOS_PER_PET
from apps.infra.storage import STORAGE_ERRORS, StoredFile, storage_delete, storage_files

logger = logging.getLogger(__name__)

# Sent by name: the task module (apps.feeders.tasks) builds on this one, not the other way round.
# A process that has the task loaded applies it as such (eager in tests); one that has not sends it.
PHOTO_THUMBNAILS_TASK = "apps.feeders.tasks.photo_thumbnails_task"

PHOTO_PREFIX = "photos/"

ORPHAN_GRACE = dt.timedelta(hours=1)  # a file this young may belong to an upload whose row is not committed yet

REQUEUE_AFTER = dt.timedelta(minutes=10)  # pending this long: the thumbnail task was lost or failed

GIVE_UP_AFTER = dt.timedelta(days=1)  # pending this long: failed for good

BATCH = 500  # files or rows per query


class StorageUnavailable(Problem):
    def __init__(self) -> None:
        detail = "Photo storage is unavailable; try again shortly."
        super().__init__(503, detail, kind="storage-unavailable", headers={"Retry-After": "30"})


def _store(name: str, data: bytes) -> str:
    try:
        return str(default_storage.save(name, ContentFile(data)))
    except STORAGE_ERRORS as exc:
        logger.warning("storing %s failed: %s", name, exc)
        raise StorageUnavailable() from exc


def photo_files_delete(*, names: list[str]) -> None:
    """Delete stored files, quietly: what fails here the orphan sweep removes later."""
    try:
        storage_delete(storage=default_storage, names=names)
    except STORAGE_ERRORS as exc:
        logger.warning("deleting %d photo file(s) failed, left to the orphan sweep: %s", len(names), exc)


def photo_create(*, pet: Pet, file: UploadedFile[bytes]) -> PetPhoto:
    """Check, clean and store an upload; its thumbnails follow from a task after commit.

    The file is stored before its row exists, outside any transaction (an
    upload must not hold a database lock): if the row then fails, the file is
    deleted; if the process dies in between, the orphan sweep deletes it.
    """
    if pet.photos.count() >= MAX_PHOTOS_PER_PET:
        raise Conflict(f"A pet has at most {MAX_PHOTOS_PER_PET} photos; delete one first.")
    clean = photo_clean(
        file=file, name=file.name or "", size=file.size or 0,
        max_bytes=settings.PHOTO_MAX_BYTES, max_pixels=settings.PHOTO_MAX_PIXELS,
    )  # fmt: skip
    token = secrets.token_urlsafe(18)
    name = _store(f"{PHOTO_PREFIX}{token}/original{clean.format.extension}", clean.data)
    try:
        with transaction.atomic():
            photo = PetPhoto.objects.create(
                pet=pet, token=token, original=name, content_type=clean.format.content_type,
                width=clean.width, height=clean.height, size_bytes=len(clean.data),
            )  # fmt: skip
            transaction.on_commit(lambda: _thumbnails_enqueue(photo.pk), robust=True)
    except BaseException:
        photo_files_delete(names=[name])
        raise
    return photo


def _thumbnails_enqueue(photo_id: int) -> None:
    current_app.signature(PHOTO_THUMBNAILS_TASK, args=(photo_id,)).delay()


def photo_delete(*, photo: PetPhoto) -> None:
    photo.delete()  # its files follow after commit (_files_follow_the_row)


@receiver(post_delete, sender=PetPhoto, dispatch_uid="feeders.photo_files_follow_the_row")
def _files_follow_the_row(sender: type[PetPhoto], instance: PetPhoto, using: str, **kwargs: Any) -> None:
    """A deleted row's files go after commit, however the row went.

    A signal, against the house rule, because cascades (a pet's, an owner's)
    and the admin delete rows without calling any service.
    """
    names = instance.file_names()
    transaction.on_commit(lambda: photo_files_delete(names=names), using=using, robust=True)


def photo_thumbnails_make(*, photo: PetPhoto) -> PetPhoto:
    """Make the thumbnails of a pending photo; a photo that is not pending is left alone.

    Raises StorageUnavailable (the task retries). A stored original that will
    not decode marks the photo failed.
    """
    if photo.status != PhotoStatus.PENDING:
        return photo
    try:
        with default_storage.open(photo.original, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return _thumbnails_failed(photo, "its original is missing from storage")
    except STORAGE_ERRORS as exc:
        raise StorageUnavailable() from exc
    try:
        images = {
            size: thumbnail(data=data, size=size, max_pixels=settings.PHOTO_MAX_PIXELS) for size in THUMBNAIL_SIZES
        }
    except Exception as exc:  # noqa: BLE001 - whatever the decoder says, this photo has no thumbnails
        return _thumbnails_failed(photo, f"its original does not decode ({exc})")
    names: dict[str, str] = {}
    try:
        for size, image in images.items():
            names[str(size)] = _store(f"{PHOTO_PREFIX}{photo.token}/{size}.webp", image)
    except StorageUnavailable:
        photo_files_delete(names=list(names.values()))
        raise
    made = PetPhoto.objects.filter(pk=photo.pk, status=PhotoStatus.PENDING).update(
        thumbnails=names, status=PhotoStatus.READY, updated_at=timezone.now()
    )
    if not made:  # the row was deleted, or a twin task finished first, meanwhile
        photo_files_delete(names=list(names.values()))
        return photo
    photo.thumbnails, photo.status = names, PhotoStatus.READY
    return photo


def _thumbnails_failed(photo: PetPhoto, why: str) -> PetPhoto:
    logger.error("photo %s: no thumbnails: %s", photo.pk, why)
    if PetPhoto.objects.filter(pk=photo.pk, status=PhotoStatus.PENDING).update(
        status=PhotoStatus.FAILED, updated_at=timezone.now()
    ):
        photo.status = PhotoStatus.FAILED
    return photo


def photo_thumbnails_requeue(*, now: dt.datetime | None = None) -> int:
    """Queue again the thumbnails of photos pending too long; give up on those pending for a day."""
    now = now or timezone.now()
    PetPhoto.objects.filter(status=PhotoStatus.PENDING, created_at__lt=now - GIVE_UP_AFTER).update(
        status=PhotoStatus.FAILED, updated_at=now
    )
    stale = PetPhoto.objects.filter(status=PhotoStatus.PENDING, created_at__lt=now - REQUEUE_AFTER)
    ids = list(stale.values_list("pk", flat=True)[:BATCH])
    for photo_id in ids:
        _thumbnails_enqueue(photo_id)
    return len(ids)


def photo_orphans_delete(*, now: dt.datetime | None = None) -> int:
    """Delete stored photo files no row owns, once older than ORPHAN_GRACE; returns how many."""
    cutoff = (now or timezone.now()) - ORPHAN_GRACE
    files = storage_files(storage=default_storage, prefix=PHOTO_PREFIX)
    deleted = 0
    while chunk := list(islice(files, BATCH)):
        by_token: dict[str, list[StoredFile]] = defaultdict(list)
        for stored in chunk:
            by_token[stored.name.removeprefix(PHOTO_PREFIX).split("/", 1)[0]].append(stored)
        owned = set(PetPhoto.objects.filter(token__in=by_token).values_list("token", flat=True))
        orphans = [f.name for token, fs in by_token.items() if token not in owned for f in fs if f.modified < cutoff]
        if orphans:
            storage_delete(storage=default_storage, names=orphans)
            deleted += len(orphans)
    if deleted:
        logger.info("deleted %d orphaned photo file(s)", deleted)
    return deleted
