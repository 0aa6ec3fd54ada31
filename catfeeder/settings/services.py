"""The services behind the processes: the database, Redis (cache, sessions, channel layer), Celery."""

from __future__ import annotations

import environ
from django.core.exceptions import ImproperlyConfigured

from apps.infra.embedded_redis import socket_url
from catfeeder.redis_options import cache_options, channel_layer_host, channel_layer_prefix
from catfeeder.settings.declaration import check_redis_urls
from catfeeder.settings.environment import VAR_DIR, env

# --- Database -----------------------------------------------------------------
# PostgreSQL from DATABASE_URL; otherwise SQLite in var/, set up so that the web
# server and the Celery worker can write at the same time: WAL lets readers run
# beside the writer, IMMEDIATE takes the write lock at BEGIN (a deferred
# transaction that upgrades later fails with SQLITE_BUSY despite the timeout).
SQLITE_BUSY_TIMEOUT = 20  # seconds
if _database_url := env.read_str("DATABASE_URL"):
    DATABASES = {"default": environ.Env.db_url_config(_database_url)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A PostgreSQL that is down or hung fails a new connection within this many seconds
    # (libpq's minimum is 2); keepalives notice a host that vanished under an idle connection.
    # Options in DATABASE_URL's query string win.
    _pg_options = {"connect_timeout": env.read_int("DATABASE_CONNECT_TIMEOUT"), "keepalives": 1,
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
DATABASES["default"].setdefault("CONN_MAX_AGE", env.read_int("DATABASE_CONN_MAX_AGE"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": SQLITE_BUSY_TIMEOUT,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

# --- Redis: broker, channel layer, cache ---------------------------------------
# One Redis database serves all three; their keys never collide (Celery uses
# "celery"/"_kombu.*", channels-redis "asgi:*", the cache "cache:*").
# With no REDIS_URL, the embedded server (`apps.infra.embedded_redis`) listens
# on a unix socket in var/; `manage.py serve` and `runserver` start it.
EMBEDDED_REDIS = not env.read_str("REDIS_URL")
REDIS_URL = env.read_str("REDIS_URL") or socket_url(VAR_DIR)

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
# written through to the database: two queries fewer on every authenticated request
# (Django's cached_db, reading the backend names of older sessions: apps/accounts/sessions.py).
SESSION_ENGINE = "apps.accounts.sessions"
# Flash messages ("Signed in.") live in that session too. Django's default also tries a signed
# cookie first, and builds its signer on every request, API calls included, whether or not a
# message is ever shown.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# The channel layer alone may be sharded over several Redis servers (channels_redis' `hosts`):
# every process must list the same servers in the same order, since a group's server is picked
# by its name's hash and the list's length. The prefix follows the first server's database.
CHANNEL_REDIS_URLS = env.read_list("CHANNEL_REDIS_URLS") or [REDIS_URL]
try:
    check_redis_urls(",".join(CHANNEL_REDIS_URLS))
except ValueError as _bad:
    raise ImproperlyConfigured(f"CHANNEL_REDIS_URLS: {_bad}.") from None
CHANNEL_LAYERS = {
    "default": {
        # channels_redis' pub/sub layer (see catfeeder/channel_layer.py for why).
        "BACKEND": "catfeeder.channel_layer.RedisChannelLayer",
        "CONFIG": {
            "hosts": [channel_layer_host(url.strip()) for url in CHANNEL_REDIS_URLS],
            "prefix": channel_layer_prefix(CHANNEL_REDIS_URLS[0].strip()),
        },
    }
}

# --- Celery ---------------------------------------------------------------------
# kombu names a Redis unix socket "redis+socket://"; redis-py names it "unix://".
_kombu_redis_url = REDIS_URL.replace("unix://", "redis+socket://", 1)
CELERY_BROKER_URL = env.read_str("CELERY_BROKER_URL") or _kombu_redis_url
CELERY_RESULT_BACKEND = env.read_str("CELERY_RESULT_BACKEND") or _kombu_redis_url
CELERY_RESULT_EXPIRES = 3600  # seconds
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
BEAT_HEARTBEAT_INTERVAL = 10  # seconds between beat heartbeat jobs
# Safety: a task is acknowledged after it ran, so a worker killed mid-task
# gives it back (reject on worker lost) instead of losing it; one message at a time per
# process, so a crash puts back one task, not a prefetched handful. Tasks must therefore
# be idempotent: they re-read their rows, and the rows cap their redeliveries.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Warm shutdown first lets running tasks finish; this many seconds more of soft shutdown
# (Celery 5.5+) then re-queue the unfinished ones before the cold stop.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.read_float("CELERY_SOFT_SHUTDOWN_TIMEOUT")
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = True
# An unacknowledged message goes back to the queue after this many seconds (Redis broker):
# longer than any task runs, and than any countdown (mail retries wait up to 300 s).
# A broker that hangs fails a publish after socket_timeout seconds instead of holding the
# request for ever (kombu waits for ever by default); above the workers' 1 s BRPOP.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.read_int("CELERY_VISIBILITY_TIMEOUT"),
    "socket_timeout": 3,  # seconds
    "socket_connect_timeout": 2,  # seconds
}
# Beat runs once: a Redis lock held (and renewed every beat tick) by one beat process; a
# second beat waits and sends nothing, and takes over when the lock expires.
CELERY_BEAT_SCHEDULER = "apps.tasks.beat:LockedDatabaseScheduler"
BEAT_LOCK_TTL = env.read_int("BEAT_LOCK_TTL")  # seconds a dead beat's lock outlives it
