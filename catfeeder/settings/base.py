"""Cat Feeder settings, read from the environment (and `.env`).

Every variable is declared once, with its type, default and documentation, in
`catfeeder.settings.variables`; `.env.example` and docs/configuration.md are made from there.
Nothing is production-only: `DJANGO_DEBUG=false` switches production
behaviour, and then the secrets below have no default. The settings of one
concern live in a module of their own (accounts, services, storage).
"""

from __future__ import annotations

from pathlib import Path

import django_stubs_ext
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured

from catfeeder.runtime.logs import logging_config
from catfeeder.settings.accounts import *  # noqa: F403
from catfeeder.settings.declaration import check_secret_key
from catfeeder.settings.environment import BASE_DIR as BASE_DIR  # "as": re-exported to test.py and others
from catfeeder.settings.environment import DEBUG as DEBUG
from catfeeder.settings.environment import VAR_DIR as VAR_DIR
from catfeeder.settings.environment import env
from catfeeder.settings.services import *  # noqa: F403
from catfeeder.settings.storage import *  # noqa: F403
from catfeeder.settings.storage import STORAGE_IMG_SOURCES

# Lets Django's generic classes be subscripted at run time (UserAdmin[User]).
django_stubs_ext.monkeypatch()

_DEV_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105 - DEBUG only
SECRET_KEY = env.read_str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.read_list("DJANGO_ALLOWED_HOSTS")


def _production_problems(secret_key: str, allowed_hosts: list[str]) -> list[str]:
    problems = []
    if not secret_key:
        problems.append("DJANGO_SECRET_KEY is not set")
    else:
        try:
            check_secret_key(secret_key)
        except ValueError as exc:
            problems.append(f"DJANGO_SECRET_KEY is not a real secret ({exc})")
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
    "apps.accounts.apps.AllauthAccountConfig",  # allauth.account, named apart from apps.accounts
    "allauth.socialaccount",
    "allauth.headless",
    "catfeeder.apps.CatFeederConfig",
    # accounts: sessions list/revoke, social providers
    "allauth.usersessions",
    "django.contrib.humanize",  # the session list's "3 minutes ago"
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.openid_connect",
    "apps.accounts",
    "apps.households",
    "apps.feeders",
    "apps.api",
    "apps.tasks",
    "apps.ops",
    "apps.notifications",
    "apps.web",
    "apps.homeassistant",
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
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "apps.accounts.middleware.LoginRateLimitMiddleware",
    "apps.accounts.zone_middleware.OwnerTimeZoneMiddleware",
]

ROOT_URLCONF = "catfeeder.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Where `manage.py serve` listens and what it starts (its --host, --port, --web-workers, --concurrency win).
WEB_HOST = env.read_str("WEB_HOST")
WEB_PORT = env.read_int("WEB_PORT")
WEB_WORKERS = env.read_int("WEB_WORKERS")
CELERY_WORKER_CONCURRENCY = env.read_int("CELERY_WORKER_CONCURRENCY")
WEB_THREADS = env.read_int("WEB_THREADS")  # Django request threads per web process
# Allocations between young garbage collections in web and worker processes (catfeeder/runtime/heap.py);
# 0 keeps CPython's 700.
GC_YOUNG_THRESHOLD = env.read_int("GC_YOUNG_THRESHOLD")
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
SECURE_SSL_REDIRECT = env.read_bool("DJANGO_SECURE_SSL_REDIRECT", unset=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health/"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env.read_int("DJANGO_SECURE_HSTS_SECONDS", unset=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
if env.read_bool("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.read_list("DJANGO_CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "apps.api.errors.csrf_failure"

# Cross-origin browser clients: an explicit allow-list, with credentials;
# never "*" with credentials (system check catfeeder.E001).
CORS_ALLOWED_ORIGINS = env.read_list("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/(api|_allauth)/.*$"
CORS_ALLOW_HEADERS = (*default_headers, "x-session-token")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Inline styles only (the API docs' UI sets some); never inline scripts.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *STORAGE_IMG_SOURCES],  # signed bucket URLs of pet photos
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Request limits. Over any of them the answer is 413 (problem+json on the API).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.read_int("HTTP_MAX_BODY_BYTES")  # non-file body, bytes
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.read_int("HTTP_MAX_FIELDS")
DATA_UPLOAD_MAX_NUMBER_FILES = env.read_int("HTTP_MAX_FILES")
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # bytes held in memory before spooling to disk
HTTP_MAX_UPLOAD_BYTES = env.read_int("HTTP_MAX_UPLOAD_BYTES")  # a whole multipart request
# Slow or silent clients: request headers must arrive within this many seconds
# (408 after), and an idle kept-alive connection is closed after the next.
HTTP_HEADER_TIMEOUT = env.read_float("HTTP_HEADER_TIMEOUT")
HTTP_MAX_HEADER_BYTES = env.read_int("HTTP_MAX_HEADER_BYTES")  # a request's head (431 over it)
HTTP_BODY_TIMEOUT = env.read_float("HTTP_BODY_TIMEOUT")  # seconds to send a whole body (408 after)
# Bytes of request bodies being received at once per web process, all clients together (503 past it).
HTTP_BODY_BUFFER_BYTES = env.read_int("HTTP_BODY_BUFFER_BYTES")
HTTP_KEEP_ALIVE_TIMEOUT = env.read_int("HTTP_KEEP_ALIVE_TIMEOUT")
# Requests in flight per web process; past it, 503 with Retry-After at once.
HTTP_MAX_CONCURRENCY = env.read_int("HTTP_MAX_CONCURRENCY")
# A dependency down or hung never makes a request wait longer than this many seconds: an HTTP
# answer not begun by then is 503 with Retry-After (catfeeder/runtime/request_deadline.py), a socket
# handshake not decided by then closes with 1013. 0 turns the HTTP deadline off.
RESPONSE_DEADLINE = env.read_float("RESPONSE_DEADLINE")

# --- REST API (django-ninja) ------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 200
NINJA_PAGINATION_CLASS = "apps.api.pagination.Pagination"
# Per client IP and per authenticated owner; over either the answer is 429 with Retry-After.
API_RATE_LIMIT_IP = env.read_str("API_RATE_LIMIT_IP")
API_RATE_LIMIT_USER = env.read_str("API_RATE_LIMIT_USER")

# --- Typed messages and the feeder protocol ----------------------------------------
MESSAGE_MAX_BYTES = 64 * 1024  # a WebSocket frame (close 1009) or HTTP body (413) over this is refused
WS_MESSAGES_PER_SECOND = env.read_float("WS_MESSAGES_PER_SECOND")  # per connection, on average
WS_MESSAGE_BURST = env.read_float("WS_MESSAGE_BURST", unset=2 * WS_MESSAGES_PER_SECOND)  # frames at once
# A ping per idle socket every 45 s was nearly all of the idle CPU at 10,000 sockets (~220 a second).
WS_PING_INTERVAL = env.read_int("WS_PING_INTERVAL")  # seconds; 0: no pings
WS_AUTH_TIMEOUT = 10  # seconds a socket may stay unauthenticated
MESSAGE_THREADS = env.read_int("MESSAGE_THREADS")  # threads for database message handlers
# Seconds a typed message may wait on its credential check and handler (database, Redis); past it,
# 503 / Error{unavailable}: a hung dependency answers nothing and never closes.
MESSAGE_TIMEOUT = env.read_float("MESSAGE_TIMEOUT")
FEEDER_HEARTBEAT_INTERVAL = env.read_int("FEEDER_HEARTBEAT_INTERVAL")  # seconds, told to devices
FEEDER_OFFLINE_AFTER = env.read_int("FEEDER_OFFLINE_AFTER")  # seconds of silence: offline, socket closed
PAIRING_CODE_TTL = 600  # seconds a pairing code lives
# Pairing attempts, counted per client address ("ip") and per code presented ("key"), never per
# feeder: a stranger who knows a feeder's MAC cannot use up its owner's code. allauth's syntax.
PAIRING_RATE_LIMITS = ["10/10m/ip", "5/10m/key"]
DEVICE_TOKEN_OVERLAP = 600  # seconds the old device token still works after a rotation

# --- Scheduled meals and feed commands ---------------------------------------------
MEAL_DISPATCH_INTERVAL = env.read_int("MEAL_DISPATCH_INTERVAL")  # seconds between dispatcher ticks
MEAL_DISPATCH_BATCH = env.read_int("MEAL_DISPATCH_BATCH")  # due slots locked per transaction
MEAL_MISSED_GRACE = env.read_int("MEAL_MISSED_GRACE")  # seconds late after which a slot is missed
MEAL_LOCAL_GRACE = env.read_int("MEAL_LOCAL_GRACE")  # seconds after a slot before a feeder serves it itself
MEAL_LOCAL_REPORT_WAIT = env.read_int("MEAL_LOCAL_REPORT_WAIT")  # seconds an unreported slot waits: then missed
FEEDER_CLOCK_MAX_OFFSET = env.read_int("FEEDER_CLOCK_MAX_OFFSET")  # seconds off: reported times are untrusted
COMMAND_RESEND_AFTER = env.read_int("COMMAND_RESEND_AFTER")  # seconds a sent command waits for its result
COMMAND_EXPIRE_AFTER = env.read_int("COMMAND_EXPIRE_AFTER")  # seconds a "feed now" stays valid
COMMAND_MAX_DELIVERIES = env.read_int("COMMAND_MAX_DELIVERIES")  # delivery tasks per command, then failed
# A Celery queue for delivery tasks (tests use one of their own); empty: the default queue.
FEED_COMMAND_QUEUE = env.read_str("FEED_COMMAND_QUEUE") or None
COMMAND_RECONCILE_INTERVAL = env.read_int("COMMAND_RECONCILE_INTERVAL")  # seconds between reconciler runs
# Housekeeping and alerts
HOUSEKEEPING_INTERVAL = 3600  # seconds between clean-up runs
RETENTION_DAYS = env.read_int("RETENTION_DAYS")  # visits, feed events and closed commands older go
ALERT_CHECK_INTERVAL = 60  # seconds between alert checks (offline feeders, food levels)
ALERT_OFFLINE_AFTER = env.read_int("ALERT_OFFLINE_AFTER")  # seconds offline before the owner is told
ALERT_LOW_FOOD_PERCENT = env.read_int("ALERT_LOW_FOOD_PERCENT")  # at or under: "low food"; 10 points over ends it

# --- Home Assistant over MQTT (apps.homeassistant) --------------------------------
MQTT_URL = env.read_str("MQTT_URL")  # empty: no bridge
MQTT_TOPIC_PREFIX = env.read_str("MQTT_TOPIC_PREFIX").strip("/")

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
LOG_LEVEL = env.read_str("DJANGO_LOG_LEVEL").upper()
LOG_DIR = Path(env.read_str("LOG_DIR", unset=str(VAR_DIR / "log"))).resolve()
LOG_MAX_BYTES = env.read_int("LOG_MAX_BYTES")
LOG_FILE_BYTES = min(env.read_int("LOG_FILE_BYTES"), LOG_MAX_BYTES)
LOG_CONSOLE = env.read_str("LOG_CONSOLE", unset="dev" if DEBUG else "json")  # dev | json
LOGGING = logging_config(
    level=LOG_LEVEL, log_dir=LOG_DIR, console=LOG_CONSOLE, file_bytes=LOG_FILE_BYTES, total_bytes=LOG_MAX_BYTES
)

# --- Operations (apps.ops) --------------------------------------------------------------
# In production /health details and /metrics need `Authorization: Bearer $OPS_TOKEN` or a staff login.
OPS_TOKEN = env.read_str("OPS_TOKEN")
# Storage (S3) or mail (SMTP) down: "fail" turns /health/ready 503 like any other dependency;
# "warn" keeps instances in service and lists them under `warnings` (every instance shares them,
# uploads answer 503 and mails wait in the queue by themselves).
OPS_READY_SHARED = env.read_str("OPS_READY_SHARED")
OPS_DRAIN_GRACE = env.read_float("OPS_DRAIN_GRACE")  # seconds a drained instance still answers (503 ready)
OPS_STATUS_RECORD_INTERVAL = 30  # seconds between the periodic runs that record status changes
# Maintenance and outage answers (503 problem+json for API writes) get the security and
# CORS headers like any other answer, and come before sessions (which may need Redis).
MIDDLEWARE.insert(MIDDLEWARE.index("corsheaders.middleware.CorsMiddleware") + 1, "apps.ops.middleware.OpsMiddleware")
