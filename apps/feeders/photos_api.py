"""REST routes for pet photos: upload (multipart), list, read, delete, and the file itself.

No `from __future__ import annotations` (see feeders/api.py): ninja reads
handler annotations at run time.
"""

import datetime as dt
from typing import Any, Literal

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from ninja import File, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from apps.accounts.auth import owner
from apps.api.problems import responses
from apps.feeders.images import CONTENT_TYPES, THUMBNAIL_CONTENT_TYPE
from apps.feeders.models import PetPhoto
from apps.feeders.selectors import pets as pet_selectors
from apps.feeders.selectors import photos as photo_selectors
from apps.feeders.selectors.photos import PhotoVariant
from apps.feeders.services import photos as photo_services
from apps.households.roles import Role
from apps.infra.storage import STORAGE_ERRORS, signed_url_lifetime

router = Router(tags=["photos"])


class ThumbnailOut(Schema):
    size: int  # px, the longer side
    url: str


class PhotoOut(Schema):
    id: int
    pet_id: int
    status: Literal["pending", "ready", "failed"]
    content_type: str
    width: int
    height: int
    size_bytes: int
    url: str
    thumbnails: list[ThumbnailOut]
    urls_expire_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_url(obj: PetPhoto) -> str:
        return photo_selectors.photo_url(photo=obj, variant="original")

    @staticmethod
    def resolve_thumbnails(obj: PetPhoto) -> list[dict[str, Any]]:
        sizes = sorted(obj.thumbnail_names())
        return [{"size": size, "url": photo_selectors.photo_url(photo=obj, variant=str(size))} for size in sizes]  # type: ignore[arg-type]

    @staticmethod
    def resolve_urls_expire_at(obj: PetPhoto) -> dt.datetime | None:
        return photo_selectors.photo_urls_expire_at()


PhotoOut.model_config["json_schema_extra"] = {
    "description": "A photo. `url` and each thumbnail's `url` are short-lived signed URLs on S3 storage "
    "(valid until `urls_expire_at`), or API paths that need the same authentication as this API "
    "(`urls_expire_at` null). Thumbnails are listed once made: `status` is pending until then."
}

UPLOAD_ERRORS = {
    413: "The photo is over PHOTO_MAX_BYTES (kind photo-too-large), or the request over HTTP_MAX_UPLOAD_BYTES.",
    415: "The content is not a JPEG, PNG or WebP image, whatever its name (kind photo-unsupported-type), "
    "or the body is not multipart/form-data (kind multipart-expected).",
    422: "The file is empty (photo-empty), named with another format's extension (photo-extension-mismatch), "
    "truncated or corrupt (photo-corrupt), or over PHOTO_MAX_PIXELS pixels (photo-too-many-pixels); "
    "or the `file` field is missing (validation).",
    409: "The pet already has its most photos.",
    503: "Photo storage is unavailable; nothing was stored (kind storage-unavailable, with Retry-After).",
}
UPLOAD_DOC = {
    "description": "Send the photo as the multipart field `file`: a JPEG, PNG or WebP image. It is stored "
    "upright, without EXIF, XMP or comments; its 96 and 512 px thumbnails (WebP) follow shortly.",
    "requestBody": {
        "content": {"multipart/form-data": {"encoding": {"file": {"contentType": ", ".join(CONTENT_TYPES)}}}}
    },
    "responses": {status: {"description": text} for status, text in UPLOAD_ERRORS.items()},
}
BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_DOC = {
    "description": "The file, for its owner only. On filesystem storage it is streamed from here; "
    "on S3 storage this answers with a redirect to a fresh signed URL.",
    "responses": {
        200: {
            "description": "The image.",
            "content": dict.fromkeys((*CONTENT_TYPES, THUMBNAIL_CONTENT_TYPE), BINARY),
        },
        302: {
            "description": "S3 storage: the signed URL of the file.",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        404: {"description": "No such photo of yours, or a thumbnail not made yet."},
    },
}
FILE_CACHE_SECONDS = 3600  # stored files never change: a name is never reused


@router.post(
    "/pets/{pet_id}/photos", response=responses({201: PhotoOut}), summary="Upload a photo of a pet",
    openapi_extra=UPLOAD_DOC,
)  # fmt: skip
def photo_upload(request: HttpRequest, pet_id: int, file: File[UploadedFile]) -> Status[PetPhoto]:
    pet = pet_selectors.pet_get(user=owner(request), pet_id=pet_id, role=Role.MEMBER)
    return Status(201, photo_services.photo_create(pet=pet, file=file))


@router.get("/pets/{pet_id}/photos", response=responses({200: list[PhotoOut]}), summary="A pet's photos, newest first")
@paginate
def photo_list(request: HttpRequest, pet_id: int) -> Any:
    user = owner(request)
    return photo_selectors.photo_list(user=user, pet=pet_selectors.pet_get(user=user, pet_id=pet_id))


@router.get("/photos/{photo_id}", response=responses({200: PhotoOut}), summary="One photo")
def photo_read(request: HttpRequest, photo_id: int) -> PetPhoto:
    return photo_selectors.photo_get(user=owner(request), photo_id=photo_id)


@router.delete("/photos/{photo_id}", response=responses({204: None}), summary="Delete a photo and its files")
def photo_delete(request: HttpRequest, photo_id: int) -> Status[None]:
    user = owner(request)
    photo_services.photo_delete(photo=photo_selectors.photo_get(user=user, photo_id=photo_id, role=Role.MEMBER))
    return Status(204, None)


@router.get(
    "/photos/{photo_id}/{variant}", response=responses({200: None}), url_name="photo_file",
    summary="A photo's file: the original or a thumbnail", openapi_extra=FILE_DOC,
)  # fmt: skip
def photo_file(request: HttpRequest, photo_id: int, variant: PhotoVariant) -> HttpResponseBase:
    photo = photo_selectors.photo_get(user=owner(request), photo_id=photo_id)
    if signed_url_lifetime(default_storage) is not None:
        return HttpResponseRedirect(photo_selectors.photo_url(photo=photo, variant=variant))
    return _stream(photo, variant)


def _stream(photo: PetPhoto, variant: PhotoVariant) -> FileResponse:
    name = photo_selectors.photo_file_name(photo=photo, variant=variant)
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    except STORAGE_ERRORS as exc:
        raise photo_services.StorageUnavailable() from exc
    content_type = photo.content_type if variant == "original" else THUMBNAIL_CONTENT_TYPE
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = f"private, max-age={FILE_CACHE_SECONDS}"
    return response
