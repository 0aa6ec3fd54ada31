"""Cat Feeder settings, read from the environment (and `.env`).

Every value comes from one variable listed in `.env.example` and the README.
Nothing is production-only: `DJANGO_DEBUG=false` switches production
behaviour, and then the secrets below have no default.
"""

from __future__ import annotations

from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

from apps.ops.logs import logging_config
from catfeeder.embedded_redis import socket_url

# Lets Django's generic classes be subscripted at run time (UserAdmin[User]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # never overrides the real environment

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# var/ holds everything the embedded defaults write: SQLite, Redis, media, mail.
VAR_DIR = Path(env.str("CATFEEDER_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()

_DEV_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105 - DEBUG only
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])


def _production_problems(secret_key: str, allowed_hosts: list[str]) -> list[str]:
    problems = []
    if not secret_key:
        problems.append("DJANGO_SECRET_KEY is not set")
    elif secret_key.startswith("django-insecure") or len(set(secret_key)) < 5 or len(secret_key) < 50:
        problems.append("DJANGO_SECRET_KEY is not a real secret (use 50+ random characters)")
    if not allowed_hosts:
        problems.append("DJANGO_ALLOWED_HOSTS is not set")
    return problems


if DEBUG:
    SECRET_KEY = SECRET_KEY or _DEV_SECRET_KEY
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]", "testserver"]
elif problems := _production_problems(SECRET_KEY, ALLOWED_HOSTS):
    raise ImproperlyConfigured("Production mode (DJANGO_DEBUG=false) cannot start: " + "; ".join(problems) + ".")

CATFEEDER_VERSION = "0.1.0"

INSTALLED_APPS = [
    # devreload's runserver (Daphne's, plus the embedded Redis) must come before
    # daphne's, which itself replaces Django's with an HTTP + WebSocket server.
    "apps.devreload",
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_celery_beat",
    "apps.accounts",
    "apps.feeders",
    "apps.api",
    "apps.tasks",
    "apps.ops",
    "apps.notifications",
    "apps.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "catfeeder.urls"
ASGI_APPLICATION = "catfeeder.asgi.application"
WSGI_APPLICATION = "catfeeder.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.ops.context_processors.maintenance",  # the maintenance banner on pages
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# PostgreSQL from DATABASE_URL; otherwise SQLite in var/, set up so that the web
# server and the Celery worker can write at the same time: WAL lets readers run
# beside the writer, IMMEDIATE takes the write lock at BEGIN (a deferred
# transaction that upgrades later fails with SQLITE_BUSY despite the timeout).
SQLITE_BUSY_TIMEOUT = 20  # seconds
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": SQLITE_BUSY_TIMEOUT,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Redis: broker, channel layer, cache ---------------------------------------
# One Redis database serves all three; their keys never collide (Celery uses
# "celery"/"_kombu.*", channels-redis "asgi:*", the cache "cache:*").
# With no REDIS_URL, the embedded server (`catfeeder.embedded_redis`) listens
# on a unix socket in var/; `manage.py serve` and `runserver` start it.
EMBEDDED_REDIS = not env.str("REDIS_URL", default="")
REDIS_URL = env.str("REDIS_URL", default="") or socket_url(VAR_DIR)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
        # Fail fast when Redis is gone instead of waiting on a socket (checks and requests alike).
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 gives every read a 5 s timeout by default: exactly how long channels_redis
        # blocks in BZPOPMIN, so an idle receive failed after 5 s (and with it every idle consumer).
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 2}],
            "capacity": 1000,
            "expiry": 60,
        },
    }
}

# --- Celery ---------------------------------------------------------------------
# kombu names a Redis unix socket "redis+socket://"; redis-py names it "unix://".
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL.replace("unix://", "redis+socket://", 1)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or REDIS_URL.replace(
    "unix://", "redis+socket://", 1
)
CELERY_RESULT_EXPIRES = 3600  # seconds
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
BEAT_HEARTBEAT_INTERVAL = 10  # seconds between beat heartbeat jobs

# --- Storage and mail ------------------------------------------------------------
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# SMTP from EMAIL_URL (smtp://user:pass@host:587/?tls=True); files in var/mail otherwise.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default=f"filemail://{VAR_DIR / 'mail'}")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Cat Feeder <noreply@localhost>")

# --- Internationalisation -------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging (apps.ops.logs) ---------------------------------------------------------
# JSON lines in var/log/<process>.<start>.<pid>.jsonl, a new file every
# LOG_FILE_BYTES, the oldest files of every process deleted first once the
# folder passes LOG_MAX_BYTES. The console is for people in development.
LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO").upper()
LOG_DIR = Path(env.str("LOG_DIR", default=str(VAR_DIR / "log"))).resolve()
LOG_MAX_BYTES = env.int("LOG_MAX_BYTES", default=1_000_000_000)
LOG_FILE_BYTES = min(env.int("LOG_FILE_BYTES", default=10_000_000), LOG_MAX_BYTES)
LOG_CONSOLE = env.str("LOG_CONSOLE", default="dev" if DEBUG else "json")  # dev | json
LOGGING = logging_config(
    level=LOG_LEVEL, log_dir=LOG_DIR, console=LOG_CONSOLE, file_bytes=LOG_FILE_BYTES, total_bytes=LOG_MAX_BYTES
)

# --- Operations (apps.ops) --------------------------------------------------------------
# In production /health details and /metrics need `Authorization: Bearer $OPS_TOKEN` or a staff login.
OPS_TOKEN = env.str("OPS_TOKEN", default="")
OPS_DRAIN_GRACE = env.float("OPS_DRAIN_GRACE", default=2.0)  # seconds a drained instance still answers (503 ready)
OPS_STATUS_RECORD_INTERVAL = 30  # seconds between the periodic runs that record status changes
_after_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE.insert(_after_security, "apps.ops.middleware.OpsMiddleware")
# --- end Operations ---------------------------------------------------------------------
