"""Photo files: what an upload must be, and the images made from it.

Pure functions over bytes, no database and no storage. An upload is judged
by its content, never by its name or declared type: the first bytes say the
format, Pillow must decode the whole image, and the pixel count is checked
from the header before anything is decoded.

Each refusal is a Problem with its own status and kind:

| status | kind | when |
|---|---|---|
| 413 | photo-too-large | over PHOTO_MAX_BYTES |
| 415 | photo-unsupported-type | not a JPEG, PNG or WebP image (judged by content) |
| 422 | photo-empty | zero bytes |
| 422 | photo-extension-mismatch | the file name's extension names another format than the content |
| 422 | photo-corrupt | truncated or otherwise undecodable |
| 422 | photo-too-many-pixels | over PHOTO_MAX_PIXELS: a decompression bomb, or simply too big |
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from PIL import Image, ImageOps

from apps.api.problems import Problem

THUMBNAIL_SIZES = (96, 512)  # px, the longer side
THUMBNAIL_CONTENT_TYPE = "image/webp"


@dataclass(frozen=True)
class ImageFormat:
    name: str  # Pillow's
    content_type: str
    extension: str  # of the files we store
    extensions: frozenset[str]  # accepted in upload names


FORMATS = {
    "JPEG": ImageFormat("JPEG", "image/jpeg", ".jpg", frozenset({".jpg", ".jpeg", ".jpe", ".jfif"})),
    "PNG": ImageFormat("PNG", "image/png", ".png", frozenset({".png"})),
    "WEBP": ImageFormat("WEBP", "image/webp", ".webp", frozenset({".webp"})),
}
CONTENT_TYPES = tuple(f.content_type for f in FORMATS.values())
# Metadata carried over when an image is re-encoded: colour and transparency.
# Everything else (EXIF with its GPS position, XMP, comments) is dropped.
KEPT_INFO = ("icc_profile", "transparency")
ENCODER_OPTIONS: dict[str, dict[str, int]] = {"JPEG": {"quality": 90}, "PNG": {}, "WEBP": {"quality": 90}}


class PhotoRefused(Problem):
    def __init__(self, status: int, kind: str, detail: str) -> None:
        errors = [{"loc": ["body", "file"], "msg": detail, "type": kind}]
        super().__init__(status, detail, kind=kind, errors=errors)


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    format: ImageFormat
    width: int
    height: int


def sniff(head: bytes) -> ImageFormat | None:
    """The format the first 12 bytes announce (their magic numbers), if one we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return FORMATS["JPEG"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FORMATS["PNG"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FORMATS["WEBP"]
    return None


def photo_check(*, file: IO[bytes], name: str, size: int, max_bytes: int) -> ImageFormat:
    """The cheap checks, before any decoding: size, content type, extension."""
    if size == 0:
        raise PhotoRefused(422, "photo-empty", "The file is empty.")
    if size > max_bytes:
        raise PhotoRefused(413, "photo-too-large", f"The photo is {size} bytes; the most is {max_bytes}.")
    file.seek(0)
    image_format = sniff(file.read(12))
    if image_format is None:
        raise PhotoRefused(415, "photo-unsupported-type", "The file is not a JPEG, PNG or WebP image.")
    extension = PurePosixPath(name).suffix.lower()
    if extension and extension not in image_format.extensions:
        detail = f"The file is named {extension} but its content is {image_format.name}; fix the name."
        raise PhotoRefused(422, "photo-extension-mismatch", detail)
    return image_format


def photo_decode(*, file: IO[bytes], image_format: ImageFormat, max_pixels: int) -> Image.Image:
    """The whole image, decoded: only after its header's pixel count has passed."""
    try:
        file.seek(0)
        with Image.open(file, formats=[image_format.name]) as header:
            width, height = header.size
            if width * height <= max_pixels:
                header.verify()  # structure and checksums, where the format has them
        if width * height > max_pixels:
            raise PhotoRefused(
                422, "photo-too-many-pixels", f"The image is {width}x{height} pixels; the most is {max_pixels} pixels."
            )
        file.seek(0)
        image = Image.open(file, formats=[image_format.name])
        image.load()  # raises on a truncated file: Pillow does not load truncated images by default
    except Image.DecompressionBombError as exc:  # Pillow's own, higher, limit
        raise PhotoRefused(422, "photo-too-many-pixels", str(exc)) from exc
    except PhotoRefused:
        raise
    except Exception as exc:  # decoders raise many kinds (OSError, SyntaxError, struct.error …) on bad input
        raise PhotoRefused(422, "photo-corrupt", "The image is truncated or corrupt.") from exc
    return image


def photo_clean(*, file: IO[bytes], name: str, size: int, max_bytes: int, max_pixels: int) -> CleanImage:
    """A checked upload, re-encoded in its own format, upright and without EXIF, XMP or comments."""
    image_format = photo_check(file=file, name=name, size=size, max_bytes=max_bytes)
    with photo_decode(file=file, image_format=image_format, max_pixels=max_pixels) as image:
        upright = ImageOps.exif_transpose(image)  # the camera's orientation tag, applied to the pixels
    upright.info = {key: value for key, value in image.info.items() if key in KEPT_INFO}
    out = io.BytesIO()
    upright.save(out, format=image_format.name, **ENCODER_OPTIONS[image_format.name])
    return CleanImage(data=out.getvalue(), format=image_format, width=upright.width, height=upright.height)


def thumbnail(*, data: bytes, size: int, max_pixels: int) -> bytes:
    """A WebP image whose longer side is `size` px (never enlarged), from a cleaned photo."""
    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > max_pixels:
            raise ValueError(f"{image.width}x{image.height} is over {max_pixels} pixels")
        image.draft("RGB", (size, size))  # JPEG decodes at a reduced scale: faster, less memory
        small = image.convert("RGBA" if image.has_transparency_data else "RGB")
    small.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="WEBP", quality=80)
    return out.getvalue()
