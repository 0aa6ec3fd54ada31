"""Files and mail: static files, uploads (a private S3-compatible bucket or var/media), e-mail."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import environ

from catfeeder.settings.environment import BASE_DIR, DEBUG, VAR_DIR, env

MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production: hashed names, served forever-cacheable and precompressed by
    # WhiteNoise (collectstatic compresses everything: a build step of about
    # 25 s here). Development: WhiteNoise serves from the finders, unhashed.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Bucket storage (pet photos): S3-compatible when S3_BUCKET is set ----------------
# Objects are private: clients get URLs signed for S3_SIGNED_URL_SECONDS, or
# (filesystem) an owner-checked API route; MEDIA_URL is never served.
S3_BUCKET = env.read_str("S3_BUCKET")
S3_ENDPOINT_URL = env.read_str("S3_ENDPOINT_URL")  # empty: AWS
# Origins pages may load photos from (the content security policy's img-src).
STORAGE_IMG_SOURCES: list[str] = []
if S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "apps.infra.storage.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL or None,
            "public_endpoint_url": env.read_str("S3_PUBLIC_ENDPOINT_URL") or None,
            "region_name": env.read_str("S3_REGION"),
            # Empty keys: boto3's own chain (AWS_* variables, instance or pod role).
            "access_key": env.read_str("S3_ACCESS_KEY_ID") or None,
            "secret_key": env.read_str("S3_SECRET_ACCESS_KEY") or None,
            # Non-AWS servers usually want path-style addresses and no optional checksums.
            "addressing_style": env.read_str("S3_ADDRESSING_STYLE", unset="path" if S3_ENDPOINT_URL else "auto"),
            "checksums": env.read_str("S3_CHECKSUMS", unset="when_required" if S3_ENDPOINT_URL else "when_supported"),
            "signature_version": "s3v4",
            "querystring_auth": True,
            "querystring_expire": env.read_int("S3_SIGNED_URL_SECONDS"),
            "file_overwrite": False,  # django-storages' default (True) lets one upload replace another
            "default_acl": None,  # the bucket's policy applies: keep the bucket private
        },
    }
    # Pages show photos from signed bucket URLs.
    _photo_origin = urlsplit(STORAGES["default"]["OPTIONS"]["public_endpoint_url"] or S3_ENDPOINT_URL)
    if _photo_origin.netloc:
        STORAGE_IMG_SOURCES.append(f"{_photo_origin.scheme}://{_photo_origin.netloc}")
    else:  # AWS signs with the global or the regional virtual-hosted name
        _region = STORAGES["default"]["OPTIONS"]["region_name"]
        STORAGE_IMG_SOURCES += [
            f"https://{S3_BUCKET}.s3.amazonaws.com",
            f"https://{S3_BUCKET}.s3.{_region}.amazonaws.com",
        ]
PHOTO_MAX_BYTES = env.read_int("PHOTO_MAX_BYTES")  # one uploaded photo
PHOTO_MAX_PIXELS = env.read_int("PHOTO_MAX_PIXELS")  # width x height; decoded RGB ~75 MB

# --- Mail -------------------------------------------------------------------------------
# SMTP from EMAIL_URL (smtp://user:pass@host:587/?tls=True); files in var/mail otherwise.
# (Not a filemail:// default: django-environ drops an absolute path's leading slash.)
if _email_url := env.read_str("EMAIL_URL"):
    vars().update(environ.Env.email_url_config(_email_url))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_TIMEOUT = 30  # seconds; an SMTP server that stops answering fails the try, which is retried
DEFAULT_FROM_EMAIL = env.read_str("DEFAULT_FROM_EMAIL")
# Mail goes out from a Celery task (apps.notifications), retried with backoff.
EMAIL_MAX_RETRIES = 12  # 2 s doubling to 5 min between tries: about half an hour in all
EMAIL_RETRY_BACKOFF_MAX = 300  # seconds
# A Celery queue of its own for mail tasks (dedicated mail workers; tests use one); empty: the default queue.
EMAIL_QUEUE: str | None = env.read_str("EMAIL_QUEUE") or None
