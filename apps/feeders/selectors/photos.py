"""Pet photos and where a client fetches their files."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.models import Pet, PetPhoto, PhotoStatus
from apps.households.roles import Role
from apps.households.selectors import member_of, row_role_require
from apps.infra.storage import signed_url_lifetime

PhotoVariant = Literal["original", "96", "512"]  # the original, or a thumbnail by size (images.THUMBNAIL_SIZES)


def photo_list(*, user: User, pet: Pet) -> QuerySet[PetPhoto]:
    return PetPhoto.objects.filter(member_of(user, path="pet__household"), pet=pet)


def photo_latest_ready(*, user: User, pet: Pet) -> PetPhoto | None:
    """The pet's newest photo whose thumbnails are made: the one its pages show."""
    return photo_list(user=user, pet=pet).filter(status=PhotoStatus.READY).order_by("-created_at").first()


def photo_get(*, user: User, photo_id: int, role: Role = Role.VIEWER) -> PetPhoto:
    photos = PetPhoto.objects.filter(member_of(user, path="pet__household")).select_related("pet")
    photo = get_object_or_404(photos, pk=photo_id)
    row_role_require(user=user, household_id=photo.pet.household_id, role=role)
    return photo


def photo_file_name(*, photo: PetPhoto, variant: PhotoVariant) -> str:
    """The storage name of the original or of a thumbnail; 404 for a thumbnail not made yet."""
    if variant == "original":
        return photo.original
    name = photo.thumbnail_names().get(int(variant))
    if name is None:
        raise Http404("This thumbnail is not made yet.")
    return name


def photo_url(*, photo: PetPhoto, variant: PhotoVariant) -> str:
    """Where a client fetches the file: a short-lived signed URL, or the owner-checked API route."""
    name = photo_file_name(photo=photo, variant=variant)
    if signed_url_lifetime(default_storage) is None:
        return reverse("api:photo_file", kwargs={"photo_id": photo.pk, "variant": variant})
    return default_storage.url(name)


def photo_urls_expire_at(*, now: dt.datetime | None = None) -> dt.datetime | None:
    lifetime = signed_url_lifetime(default_storage)
    return None if lifetime is None else (now or timezone.now()) + dt.timedelta(seconds=lifetime)
