from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from apps.feeders.models.pets import Pet

MAX_PHOTOS_PER_PET = 20


class PhotoStatus(models.TextChoices):
    PENDING = "pending", "thumbnails being made"
    READY = "ready", "ready"
    FAILED = "failed", "thumbnails could not be made"


class PetPhoto(models.Model):
    """A photo of a pet: its cleaned original and thumbnails, all under photos/<token>/ in storage.

    The token is random (144 bits) and says nothing about the owner or pet, so
    nobody reaches a photo by guessing its key; the file names are the ones the
    storage returned, which never overwrites an existing file.
    """

    pet = models.ForeignKey(Pet, on_delete=models.CASCADE, related_name="photos")
    token = models.CharField(max_length=32, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=PhotoStatus.choices, default=PhotoStatus.PENDING)
    content_type = models.CharField(max_length=20, help_text="Of the original: image/jpeg, image/png or image/webp.")
    width = models.PositiveIntegerField(help_text="Of the original, in pixels, upright.")
    height = models.PositiveIntegerField(help_text="Of the original, in pixels, upright.")
    size_bytes = models.PositiveIntegerField(help_text="Of the stored original.")
    original = models.CharField(max_length=255, help_text="Storage name of the original.")
    thumbnails = models.JSONField(default=dict, blank=True, help_text='Storage names by size: {"96": "photos/…"}.')
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes: ClassVar = [models.Index(fields=["status", "created_at"], name="feeders_photo_status_created")]

    def __str__(self) -> str:
        return f"photo {self.pk} of pet {self.pet_id}"

    def file_names(self) -> list[str]:
        """Every stored file of this photo."""
        return [self.original, *self.thumbnail_names().values()]

    def thumbnail_names(self) -> dict[int, str]:
        names: dict[str, Any] = self.thumbnails or {}
        return {int(size): str(name) for size, name in names.items()}
