"""Cat Feeder settings, read from the environment (and `.env`).

Every value comes from one variable listed in `.env.example` and the README.
Nothing is production-only: `DJANGO_DEBUG=false` switches production
behaviour, and then the secrets below have no default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured

from catfeeder.embedded_redis import socket_url
from catfeeder.redis_options import cache_options, channel_layer_host
from catfeeder.runtime.logs import logging_config

# Lets Django's generic classes be subscripted at run time (UserAdmin[User]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # never overrides the real environment

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# var/ holds everything the embedded defaults write: SQLite, Redis, media, mail.
VAR_DIR = Path(env.str("CATFEEDER_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has none; SQLite will not create the folder

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
    "whitenoise.runserver_nostatic",  # runserver serves static files as production does
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "django_http_compression",
    "channels",
    "django_celery_beat",
    "ninja",  # serves the API docs' assets locally (no CDN)
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.headless",
    "catfeeder.apps.CatFeederConfig",
    # -- accounts (issue 3): sessions list/revoke, social providers ------------
    "allauth.usersessions",
    "django.contrib.humanize",  # the session list's "3 minutes ago"
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.openid_connect",
    # -- end accounts -----------------------------------------------------------
    "apps.accounts",
    "apps.feeders",
    "apps.api",
    "apps.tasks",
    "apps.ops",
    "apps.notifications",
    "apps.web",
]

MIDDLEWARE = [
    # Outermost first. Security headers and the app header go on every
    # response, errors included; WhiteNoise answers static files before the
    # rest runs (with their own precompressed variants); compression wraps
    # everything below it; CORS must run before CommonMiddleware.
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "catfeeder.middleware.AppHeaderMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_http_compression.middleware.HttpCompressionMiddleware",
    "catfeeder.middleware.ErrorResponseMiddleware",
    "catfeeder.middleware.BodyLimitMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # -- accounts (issue 3) -----------------------------------------------------
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "apps.accounts.middleware.LoginRateLimitMiddleware",
    # -- end accounts -----------------------------------------------------------
]

ROOT_URLCONF = "catfeeder.urls"
WEB_THREADS = env.int("WEB_THREADS", default=20)  # Django request threads per web process
# Allocations between young garbage collections in web and worker processes (catfeeder/runtime/heap.py);
# 0 keeps CPython's 700.
GC_YOUNG_THRESHOLD = env.int("GC_YOUNG_THRESHOLD", default=10_000)
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

# --- HTTP: security headers, CORS, CSRF, limits -----------------------------------
# Production (DEBUG off) turns on HTTPS-only behaviour; behind a TLS proxy set
# DJANGO_SECURE_PROXY_SSL_HEADER=true so Django trusts X-Forwarded-Proto.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health/"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "catfeeder.errors.csrf_failure"

# Cross-origin browser clients: an explicit allow-list, with credentials;
# never "*" with credentials (system check catfeeder.E001).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/(api|_allauth)/.*$"
CORS_ALLOW_HEADERS = (*default_headers, "x-session-token")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Inline styles only (the API docs' UI sets some); never inline scripts.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Request limits. Over any of them the answer is 413 (problem+json on the API).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("HTTP_MAX_BODY_BYTES", default=1024 * 1024)  # non-file body, bytes
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("HTTP_MAX_FIELDS", default=200)
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("HTTP_MAX_FILES", default=5)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # bytes held in memory before spooling to disk
HTTP_MAX_UPLOAD_BYTES = env.int("HTTP_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)  # a whole multipart request
# Slow or silent clients: request headers must arrive within this many seconds
# (408 after), and an idle kept-alive connection is closed after the next.
HTTP_HEADER_TIMEOUT = env.float("HTTP_HEADER_TIMEOUT", default=10.0)
HTTP_MAX_HEADER_BYTES = env.int("HTTP_MAX_HEADER_BYTES", default=64 * 1024)  # a request's head (431 over it)
HTTP_BODY_TIMEOUT = env.float("HTTP_BODY_TIMEOUT", default=60.0)  # seconds to send a whole body (408 after)
# Bytes of request bodies being received at once per web process, all clients together (503 past it).
HTTP_BODY_BUFFER_BYTES = env.int("HTTP_BODY_BUFFER_BYTES", default=128 * 1024 * 1024)
HTTP_KEEP_ALIVE_TIMEOUT = env.int("HTTP_KEEP_ALIVE_TIMEOUT", default=5)
# Requests in flight per web process; past it, 503 with Retry-After at once.
HTTP_MAX_CONCURRENCY = env.int("HTTP_MAX_CONCURRENCY", default=200)
# A dependency down or hung never makes a request wait longer than this many seconds: an HTTP
# answer not begun by then is 503 with Retry-After (catfeeder/runtime/request_deadline.py), a socket
# handshake not decided by then closes with 1013. 0 turns the HTTP deadline off.
RESPONSE_DEADLINE = env.float("RESPONSE_DEADLINE", default=5.0)

# --- Database -----------------------------------------------------------------
# PostgreSQL from DATABASE_URL; otherwise SQLite in var/, set up so that the web
# server and the Celery worker can write at the same time: WAL lets readers run
# beside the writer, IMMEDIATE takes the write lock at BEGIN (a deferred
# transaction that upgrades later fails with SQLITE_BUSY despite the timeout).
SQLITE_BUSY_TIMEOUT = 20  # seconds
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A PostgreSQL that is down or hung fails a new connection within this many seconds
    # (libpq's minimum is 2); keepalives notice a host that vanished under an idle connection.
    # Options in DATABASE_URL's query string win.
    _pg_options = {"connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=2), "keepalives": 1,
                   "keepalives_idle": 30, "keepalives_interval": 5, "keepalives_count": 3}  # fmt: skip
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["OPTIONS"] = {**_pg_options, **DATABASES["default"].get("OPTIONS", {})}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
        }
    }
# Web threads keep their connection between requests (opening one cost a tenth of
# an API read on SQLite); 0 closes it after every request.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": SQLITE_BUSY_TIMEOUT,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # the admin
    "allauth.account.auth_backends.AuthenticationBackend",
]

# --- Accounts (django-allauth, with headless for apps) ---------------------------
PRODUCT_NAME = "Cat Feeder"  # in every page title, mail subject and mail body
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
# Owners may log in before they verify their address (the verification mail
# goes out at sign-up); pairing a feeder is what needs a verified address
# (apps.accounts.selectors.user_email_verified).
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # a mail scanner following the link must not confirm it
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CHANGE_EMAIL = True  # one address per owner: a new one replaces the old once verified
ACCOUNT_EMAIL_NOTIFICATIONS = True  # "your password/e-mail changed" mails
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"{PRODUCT_NAME}: "
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # keep this session; every other one ends (the hash changes)
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300  # seconds a password re-entry counts for deleting the account
PASSWORD_RESET_TIMEOUT = 3600  # seconds a password reset link works
ACCOUNT_SESSION_REMEMBER = True
# Browser sessions and app tokens (allauth headless "app" sessions) are both
# server-side sessions in the database. A browser session lasts this long from
# log-in; an app token this long from its last use (apps.api.auth renews it).
SESSION_COOKIE_AGE = env.int("SESSION_AGE_DAYS", default=14) * 86400  # seconds
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
# Rates (allauth's syntax: amount/period/per) need the shared Redis cache.
# Every POST to a login form counts toward "login" (answers 429); failed
# ones also toward "login_failed" (a form error, then 429 once "login" is spent).
ACCOUNT_RATE_LIMITS = {
    "login": "20/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "10/m/ip",
    "reset_password": "10/m/ip,3/h/key",  # key: the address, so nobody floods someone's inbox
    "reset_password_from_key": "20/m/ip",
}
# The admin login is Django's, which allauth does not limit (see apps.accounts.middleware).
ADMIN_LOGIN_RATE_LIMITS = ["10/m/ip", "10/15m/key"]
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)  # proxies adding X-Forwarded-For

HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_TOKEN_STRATEGY = "apps.api.auth.OneReadSessionTokenStrategy"  # noqa: S105 - a class; one session read per request
HEADLESS_SERVE_SPECIFICATION = True  # /_allauth/openapi.json and .html, linked from /api/docs
HEADLESS_SPECIFICATION_TEMPLATE_NAME = "headless/spec/swagger_local.html"
USERSESSIONS_TRACK_ACTIVITY = True  # "last seen" in the session list

SOCIALACCOUNT_ADAPTER = "apps.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_LOGIN_ON_GET = False  # the provider button POSTs (CSRF) before leaving the site
# A social login whose provider-verified address matches an existing account
# logs into it and links the provider, but only when that account's own
# address is verified too (SocialAccountAdapter); which providers are trusted
# to verify addresses is per provider below (or per SocialApp: settings
# {"email_authentication": true}).
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "optional"
SOCIALACCOUNT_STORE_TOKENS = False  # we only log people in; we never call the providers' APIs


def _social_providers(env: environ.Env) -> dict[str, dict[str, object]]:
    """Provider settings; a provider gets an app from the environment only if
    its client id is set (otherwise add a SocialApp in the admin)."""
    providers: dict[str, dict[str, object]] = {
        "google": {
            "SCOPE": ["openid", "profile", "email"],
            "AUTH_PARAMS": {"access_type": "online"},
            "OAUTH_PKCE_ENABLED": True,
            "EMAIL_AUTHENTICATION": True,  # Google says whether it verified the address
        },
        "github": {"SCOPE": ["user:email"], "EMAIL_AUTHENTICATION": True},  # per-address "verified" flag
        "openid_connect": {"OAUTH_PKCE_ENABLED": True},
    }
    for name in ("google", "github"):
        if client_id := env.str(f"{name.upper()}_CLIENT_ID", default=""):
            providers[name]["APPS"] = [{"client_id": client_id, "secret": env.str(f"{name.upper()}_CLIENT_SECRET")}]
    if client_id := env.str("OIDC_CLIENT_ID", default=""):
        providers["openid_connect"]["APPS"] = [
            {
                "provider_id": env.str("OIDC_PROVIDER_ID", default="oidc"),
                "name": env.str("OIDC_NAME", default="OpenID Connect"),
                "client_id": client_id,
                "secret": env.str("OIDC_CLIENT_SECRET", default=""),
                "settings": {
                    "server_url": env.str("OIDC_SERVER_URL"),
                    "oauth_pkce_enabled": True,
                    # Trust this server's "email_verified" claim to log into existing accounts?
                    "email_authentication": env.bool("OIDC_EMAIL_AUTHENTICATION", default=False),
                },
            }
        ]
    return providers


SOCIALACCOUNT_PROVIDERS = _social_providers(env)

# Mail goes out from a Celery task (apps.notifications), retried with backoff.
EMAIL_MAX_RETRIES = 12  # 2 s doubling to 5 min between tries: about half an hour in all
EMAIL_RETRY_BACKOFF_MAX = 300  # seconds
# A Celery queue of its own for mail tasks (dedicated mail workers; tests use one); empty: the default queue.
EMAIL_QUEUE: str | None = env.str("EMAIL_QUEUE", default="") or None

# --- REST API (django-ninja) ------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 200
NINJA_PAGINATION_CLASS = "apps.api.pagination.Pagination"
# Per client IP and per authenticated owner; over either the answer is 429 with Retry-After.
API_RATE_LIMIT_IP = env.str("API_RATE_LIMIT_IP", default="1200/minute")
API_RATE_LIMIT_USER = env.str("API_RATE_LIMIT_USER", default="600/minute")

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
        "BACKEND": "catfeeder.cache.RedisCache",  # one client per process (catfeeder/cache.py)
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
        # One pool per process; fail fast when Redis is gone, reconnect once it is back.
        "OPTIONS": cache_options(),
    }
}

# Sessions (browser logins and app tokens alike) are read from the cache and
# written through to the database: two queries fewer on every authenticated request.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

CHANNEL_LAYERS = {
    "default": {
        # channels_redis' pub/sub layer (see catfeeder/channel_layer.py for why).
        "BACKEND": "catfeeder.channel_layer.RedisChannelLayer",
        "CONFIG": {"hosts": [channel_layer_host(REDIS_URL)]},
    }
}

# --- Typed messages and the feeder protocol (issue 5) ---------------------------------
MESSAGE_MAX_BYTES = 64 * 1024  # a WebSocket frame (close 1009) or HTTP body (413) over this is refused
WS_MESSAGES_PER_SECOND = env.float("WS_MESSAGES_PER_SECOND", default=20)  # per connection, on average
WS_MESSAGE_BURST = env.float("WS_MESSAGE_BURST", default=2 * WS_MESSAGES_PER_SECOND)  # frames at once
WS_AUTH_TIMEOUT = 10  # seconds a socket may stay unauthenticated
MESSAGE_THREADS = env.int("MESSAGE_THREADS", default=WEB_THREADS)  # threads for database message handlers
# Seconds a typed message may wait on its credential check and handler (database, Redis); past it,
# 503 / Error{unavailable}: a hung dependency answers nothing and never closes.
MESSAGE_TIMEOUT = env.float("MESSAGE_TIMEOUT", default=5.0)
FEEDER_HEARTBEAT_INTERVAL = env.int("FEEDER_HEARTBEAT_INTERVAL", default=30)  # seconds, told to devices
FEEDER_OFFLINE_AFTER = env.int("FEEDER_OFFLINE_AFTER", default=90)  # seconds of silence: offline, socket closed
PAIRING_CODE_TTL = 600  # seconds a pairing code lives
PAIRING_CODE_TRIES = 5  # wrong codes a feeder's pairing code survives
DEVICE_TOKEN_OVERLAP = 600  # seconds the old device token still works after a rotation

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
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
BEAT_HEARTBEAT_INTERVAL = 10  # seconds between beat heartbeat jobs
# Safety (issue 6): a task is acknowledged after it ran, so a worker killed mid-task
# gives it back (reject on worker lost) instead of losing it; one message at a time per
# process, so a crash puts back one task, not a prefetched handful. Tasks must therefore
# be idempotent: they re-read their rows, and the rows cap their redeliveries.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Warm shutdown first lets running tasks finish; this many seconds more of soft shutdown
# (Celery 5.5+) then re-queue the unfinished ones before the cold stop.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_SOFT_SHUTDOWN_TIMEOUT", default=10)
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = True
# An unacknowledged message goes back to the queue after this many seconds (Redis broker):
# longer than any task runs, and than any countdown (mail retries wait up to 300 s).
# A broker that hangs fails a publish after socket_timeout seconds instead of holding the
# request for ever (kombu waits for ever by default); above the workers' 1 s BRPOP.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_timeout": 3,  # seconds
    "socket_connect_timeout": 2,  # seconds
}
# Beat runs once: a Redis lock held (and renewed every beat tick) by one beat process; a
# second beat waits and sends nothing, and takes over when the lock expires.
CELERY_BEAT_SCHEDULER = "apps.tasks.beat:LockedDatabaseScheduler"
BEAT_LOCK_TTL = env.int("BEAT_LOCK_TTL", default=30)  # seconds a dead beat's lock outlives it

# --- Scheduled meals and feed commands (issue 6) ----------------------------------
MEAL_DISPATCH_INTERVAL = env.int("MEAL_DISPATCH_INTERVAL", default=1)  # seconds between dispatcher ticks
MEAL_DISPATCH_BATCH = env.int("MEAL_DISPATCH_BATCH", default=500)  # due slots locked per transaction
MEAL_MISSED_GRACE = env.int("MEAL_MISSED_GRACE", default=900)  # seconds late after which a slot is missed
COMMAND_RESEND_AFTER = env.int("COMMAND_RESEND_AFTER", default=30)  # seconds a sent command waits for its result
COMMAND_EXPIRE_AFTER = env.int("COMMAND_EXPIRE_AFTER", default=600)  # seconds a "feed now" stays valid
COMMAND_MAX_DELIVERIES = env.int("COMMAND_MAX_DELIVERIES", default=10)  # delivery tasks per command, then failed
# A Celery queue for delivery tasks (tests use one of their own); empty: the default queue.
FEED_COMMAND_QUEUE = env.str("FEED_COMMAND_QUEUE", default="") or None
COMMAND_RECONCILE_INTERVAL = env.int("COMMAND_RECONCILE_INTERVAL", default=10)  # seconds between reconciler runs
# Housekeeping and alerts
HOUSEKEEPING_INTERVAL = 3600  # seconds between clean-up runs
RETENTION_DAYS = env.int("RETENTION_DAYS", default=365)  # visits, feed events and closed commands older go
ALERT_CHECK_INTERVAL = 60  # seconds between alert checks (offline feeders, food levels)
ALERT_OFFLINE_AFTER = env.int("ALERT_OFFLINE_AFTER", default=1800)  # seconds offline before the owner is told
ALERT_LOW_FOOD_PERCENT = env.int(
    "ALERT_LOW_FOOD_PERCENT", default=15
)  # at or under: "low food"; 10 points over it ends it

# --- Storage and mail ------------------------------------------------------------
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
S3_BUCKET = env.str("S3_BUCKET", default="")
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default="")  # empty: AWS
S3_CHOICES = {"S3_ADDRESSING_STYLE": ("auto", "path", "virtual"), "S3_CHECKSUMS": ("when_required", "when_supported")}
if S3_BUCKET:
    # Non-AWS servers usually want path-style addresses and no optional checksums.
    _s3_choices = {
        "S3_ADDRESSING_STYLE": env.str("S3_ADDRESSING_STYLE", default="path" if S3_ENDPOINT_URL else "auto"),
        "S3_CHECKSUMS": env.str("S3_CHECKSUMS", default="when_required" if S3_ENDPOINT_URL else "when_supported"),
    }
    for _name, _value in _s3_choices.items():
        if _value not in S3_CHOICES[_name]:
            raise ImproperlyConfigured(f"{_name}={_value!r} is not one of {', '.join(S3_CHOICES[_name])}.")
    STORAGES["default"] = {
        "BACKEND": "catfeeder.storage.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL or None,
            "public_endpoint_url": env.str("S3_PUBLIC_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="us-east-1"),
            # Empty keys: boto3's own chain (AWS_* variables, instance or pod role).
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "addressing_style": _s3_choices["S3_ADDRESSING_STYLE"],
            "checksums": _s3_choices["S3_CHECKSUMS"],
            "signature_version": "s3v4",
            "querystring_auth": True,
            "querystring_expire": env.int("S3_SIGNED_URL_SECONDS", default=300),
            "file_overwrite": False,  # django-storages' default (True) lets one upload replace another
            "default_acl": None,  # the bucket's policy applies: keep the bucket private
        },
    }
    # Pages show photos from signed bucket URLs: let the CSP load images from there.
    _photo_origin = urlsplit(STORAGES["default"]["OPTIONS"]["public_endpoint_url"] or S3_ENDPOINT_URL)
    if _photo_origin.netloc:
        CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(f"{_photo_origin.scheme}://{_photo_origin.netloc}")
    else:  # AWS signs with the global or the regional virtual-hosted name
        _region = STORAGES["default"]["OPTIONS"]["region_name"]
        CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] += [
            f"https://{S3_BUCKET}.s3.amazonaws.com",
            f"https://{S3_BUCKET}.s3.{_region}.amazonaws.com",
        ]
PHOTO_MAX_BYTES = env.int("PHOTO_MAX_BYTES", default=8 * 1024 * 1024)  # one uploaded photo
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", default=25_000_000)  # width x height; decoded RGB ~75 MB

# SMTP from EMAIL_URL (smtp://user:pass@host:587/?tls=True); files in var/mail otherwise.
# (Not a filemail:// default: django-environ drops an absolute path's leading slash.)
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_TIMEOUT = 30  # seconds; an SMTP server that stops answering fails the try, which is retried
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Cat Feeder <noreply@localhost>")

# --- Development live reload (apps.devreload) -----------------------------------
# DEBUG only: the middleware adds the reload script to HTML pages, and
# catfeeder/routing.py mounts /ws/devreload/. runserver (and `serve --reload`)
# watch templates and static files; DEVRELOAD_ROUTES runs work on change, e.g.
# {"assets/scss/**/*.scss": "sass assets/scss/site.scss static/css/site.css"}
# (patterns relative to BASE_DIR; see apps/devreload/listeners.py).
if DEBUG:
    MIDDLEWARE += ["apps.devreload.middleware.DevReloadMiddleware"]
DEVRELOAD_ROUTES: dict[str, object] = {}

# --- Internationalisation -------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging (catfeeder.runtime.logs) ---------------------------------------------------------
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
# Storage (S3) or mail (SMTP) down: "fail" turns /health/ready 503 like any other dependency;
# "warn" keeps instances in service and lists them under `warnings` (every instance shares them,
# uploads answer 503 and mails wait in the queue by themselves).
OPS_READY_SHARED = env.str("OPS_READY_SHARED", default="fail")
OPS_DRAIN_GRACE = env.float("OPS_DRAIN_GRACE", default=2.0)  # seconds a drained instance still answers (503 ready)
OPS_STATUS_RECORD_INTERVAL = 30  # seconds between the periodic runs that record status changes
# Maintenance and outage answers (503 problem+json for API writes) get the security and
# CORS headers like any other answer, and come before sessions (which may need Redis).
MIDDLEWARE.insert(MIDDLEWARE.index("corsheaders.middleware.CorsMiddleware") + 1, "apps.ops.middleware.OpsMiddleware")
# --- end Operations ---------------------------------------------------------------------
