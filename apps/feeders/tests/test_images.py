"""What an upload must be, and what is made of it: apps/feeders/images.py, no database."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from apps.feeders.images import CleanImage, PhotoRefused, photo_clean, sniff, thumbnail
from apps.feeders.tests import images

MAX_BYTES = 1024 * 1024
MAX_PIXELS = 25_000_000


def clean(name: str, data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> CleanImage:
    return photo_clean(file=io.BytesIO(data), name=name, size=len(data), max_bytes=max_bytes, max_pixels=max_pixels)


def refusal(name: str, data: bytes, **limits: int) -> tuple[int, str]:
    with pytest.raises(PhotoRefused) as refused:
        clean(name, data, **limits)
    return refused.value.status, str(refused.value.kind)


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [("cat.jpg", images.jpeg(), "image/jpeg"), ("cat.PNG", images.png(), "image/png"),
     ("cat.webp", images.webp(), "image/webp"), ("no-extension", images.jpeg(), "image/jpeg")],
)  # fmt: skip
def test_it_accepts_jpeg_png_and_webp_by_their_content(name: str, data: bytes, content_type: str) -> None:
    cleaned = clean(name, data)
    assert cleaned.format.content_type == content_type
    assert (cleaned.width, cleaned.height) == (64, 48)
    assert images.decode(cleaned.data).format == cleaned.format.name


def test_it_judges_the_type_by_the_bytes_not_the_name() -> None:
    assert sniff(images.png()[:12]) is not None
    assert refusal("cat.jpg", b"GIF89a" + b"\x00" * 100) == (415, "photo-unsupported-type")
    assert refusal("cat.jpg", b"%PDF-1.7 definitely a cat") == (415, "photo-unsupported-type")
    assert refusal("cat.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'/>") == (415, "photo-unsupported-type")


@pytest.mark.parametrize(
    ("name", "data", "status", "kind"),
    [
        ("cat.jpg", b"", 422, "photo-empty"),
        ("cat.png", images.jpeg(), 422, "photo-extension-mismatch"),
        ("cat.exe", images.jpeg(), 422, "photo-extension-mismatch"),
        ("cat.jpg", images.truncated(images.noisy_jpeg()), 422, "photo-corrupt"),
        ("cat.png", images.truncated(images.png(300, 300)), 422, "photo-corrupt"),
        ("cat.png", images.png_bomb(), 422, "photo-too-many-pixels"),
        ("cat.png", images.png_header_claiming(50_000, 50_000), 422, "photo-too-many-pixels"),
    ],
    ids=["empty", "named-png-but-jpeg", "named-exe", "truncated-jpeg", "truncated-png", "bomb", "huge-header"],
)
def test_each_bad_upload_gets_its_own_refusal(name: str, data: bytes, status: int, kind: str) -> None:
    assert refusal(name, data) == (status, kind)


def test_the_size_cap_is_413_before_anything_is_decoded() -> None:
    assert refusal("cat.jpg", images.noisy_jpeg(), max_bytes=10_000) == (413, "photo-too-large")


def test_a_bomb_is_refused_from_its_header_without_being_decoded() -> None:
    bomb = images.png_bomb()
    assert len(bomb) < 200_000  # small on the wire, 90 MB decoded
    assert refusal("cat.png", bomb, max_pixels=29_999_999) == (422, "photo-too-many-pixels")
    assert clean("cat.png", bomb, max_pixels=30_000_000).width == 6000  # the same file, under a higher cap


def test_the_cleaned_photo_is_upright_and_carries_no_exif_gps_or_comment() -> None:
    cleaned = clean("IMG_0001.JPG", images.jpeg_from_a_phone(80, 60))
    assert (cleaned.width, cleaned.height) == (60, 80)  # turned as the orientation tag said
    image = images.decode(cleaned.data)
    assert not image.getexif()
    assert "comment" not in image.info
    assert images.SECRET.encode() not in cleaned.data
    red, blue = image.convert("RGB").getpixel((30, 5)), image.convert("RGB").getpixel((30, 75))
    assert red[0] > 200 > red[2]  # type: ignore[index]  # the left half is now on top
    assert blue[2] > 200 > blue[0]  # type: ignore[index]


def test_transparency_survives_cleaning() -> None:
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    cleaned = clean("cat.png", images.encode(rgba, "PNG"))
    assert images.decode(cleaned.data).getpixel((5, 5)) == (0, 0, 0, 0)


@pytest.mark.parametrize(("size", "expected"), [(96, (96, 72)), (512, (512, 384))])
def test_thumbnails_are_webp_within_their_size(size: int, expected: tuple[int, int]) -> None:
    made = images.decode(thumbnail(data=images.jpeg(800, 600), size=size, max_pixels=MAX_PIXELS))
    assert made.format == "WEBP"
    assert made.size == expected


def test_a_small_photo_is_never_enlarged() -> None:
    assert images.decode(thumbnail(data=images.png(300, 200), size=512, max_pixels=MAX_PIXELS)).size == (300, 200)


def test_the_api_offers_exactly_the_thumbnail_sizes_made() -> None:
    from typing import get_args

    from apps.feeders.images import THUMBNAIL_SIZES
    from apps.feeders.selectors.photos import PhotoVariant

    assert set(get_args(PhotoVariant)) == {"original", *map(str, THUMBNAIL_SIZES)}
