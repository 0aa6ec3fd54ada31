"""Image files for photo tests, made here: good ones, bad ones, and bombs."""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

RED, BLUE = (255, 0, 0), (0, 0, 255)
SECRET = "where-the-cat-lives"  # noqa: S105 - not a password: put in EXIF and comments; must never be stored


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def picture(width: int = 64, height: int = 48, mode: str = "RGB") -> Image.Image:
    """Red on the left half, blue on the right: orientation shows in the pixels."""
    image = Image.new(mode, (width, height), BLUE)
    image.paste(Image.new(mode, (width // 2, height), RED), (0, 0))
    return image


def jpeg(width: int = 64, height: int = 48) -> bytes:
    return encode(picture(width, height), "JPEG")


def png(width: int = 64, height: int = 48) -> bytes:
    return encode(picture(width, height), "PNG")


def webp(width: int = 64, height: int = 48) -> bytes:
    return encode(picture(width, height), "WEBP")


def jpeg_from_a_phone(width: int = 80, height: int = 60) -> bytes:
    """A JPEG as phones write them: sideways pixels with an orientation tag, GPS, a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "rotate 90° clockwise to display"
    exif[ExifTags.Base.ImageDescription] = SECRET
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.0)
    return encode(picture(width, height), "JPEG", exif=exif, comment=SECRET)


def noisy_jpeg(size: int = 256) -> bytes:
    noise = random.Random(9).randbytes(size * size * 3)  # noqa: S311 - test data
    return encode(Image.frombytes("RGB", (size, size), noise), "JPEG", quality=95)


def truncated(data: bytes) -> bytes:
    return data[: len(data) * 6 // 10]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def png_bomb(width: int = 6000, height: int = 5000) -> bytes:
    """A real decompression bomb: under 100 kB that decode to width x height x 3 bytes of black."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width * 3)  # filter byte, then the row's pixels
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size its few bytes of data cannot have."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
