"""Every environment variable Cat Feeder reads, declared once.

Settings read them from here (`catfeeder.settings.environment`), `manage.py settings` shows and
stores them, and `manage.py settings --write-docs` writes `.env.example` and the configuration
tables of docs/configuration.md and the README from here. Read while settings load: no Django.
"""

from __future__ import annotations

from catfeeder.settings.declaration import (
    Variable,
    check_broker_url,
    check_database_url,
    check_email_url,
    check_hosts,
    check_mqtt_url,
    check_redis_url,
    check_redis_urls,
    check_secret_key,
)

DJANGO = "Django"
DATABASE = "Database"
REDIS = "Redis and Celery"
SERVE = "Processes (`manage.py serve`)"
HTTP = "HTTP: security and limits"
ACCOUNTS = "Accounts"
MAIL = "Mail"
STORAGE = "Storage"
MESSAGES = "Typed messages and devices"
MEALS = "Scheduled meals, feed commands, alerts"
OPS = "Logs and operations"
HOME_ASSISTANT = "Home Assistant (MQTT)"

VARIABLES: tuple[Variable, ...] = (
    # --- Django ---------------------------------------------------------------------------------
    Variable("DJANGO_DEBUG", "bool", True, "`false` switches production behaviour on", DJANGO, essential=True),
    Variable("DJANGO_SECRET_KEY", "str", "", "required in production: 50+ random characters, e.g. "
             "`python -c \"import secrets; print(secrets.token_urlsafe(50))\"`", DJANGO,
             secret=True, essential=True, check=check_secret_key, shown="a development key (DEBUG only)"),
    Variable("DJANGO_ALLOWED_HOSTS", "list", (), "required in production: comma-separated host names the site "
             "answers to", DJANGO, essential=True, check=check_hosts,
             shown="localhost,127.0.0.1,[::1] (DEBUG only)", example="feeders.example.com"),
    Variable("DJANGO_LOG_LEVEL", "str", "INFO", "root log level", DJANGO,
             choices=("debug", "info", "warning", "error", "critical")),
    Variable("CATFEEDER_VAR_DIR", "str", None, "where the embedded defaults keep SQLite, Redis data, media, mail "
             "and logs", DJANGO, shown="./var", example="./var"),
    # --- Database -------------------------------------------------------------------------------
    Variable("DATABASE_URL", "str", "", "the database, e.g. `postgres://user:pass@host:5432/catfeeder`", DATABASE,
             has_password=True, essential=True, check=check_database_url, shown="SQLite in var/db.sqlite3",
             example="postgres://postgres@127.0.0.1:5432/catfeeder"),
    Variable("DATABASE_CONN_MAX_AGE", "int", 60, "seconds a web thread keeps its database connection between "
             "requests (`0` closes it after each)", DATABASE),
    Variable("DATABASE_CONNECT_TIMEOUT", "int", 2, "seconds a new PostgreSQL connection may take (libpq's "
             "`connect_timeout`, at least 2); a `connect_timeout` in `DATABASE_URL` wins", DATABASE),
    # --- Redis and Celery -----------------------------------------------------------------------
    Variable("REDIS_URL", "str", "", "Celery broker and results, channel layer and cache, e.g. "
             "`redis://host:6379/0`", REDIS, has_password=True, essential=True, check=check_redis_url,
             shown="embedded Redis on var/redis.sock", example="redis://127.0.0.1:6379/0"),
    # Sharding spreads the sockets' subscriptions and the events' PUBLISHes (channels_redis hashes
    # each group and channel onto one of them): one Redis stops being the web hosts' common limit.
    Variable("CHANNEL_REDIS_URLS", "list", (), "the channel layer sharded over these Redis servers, "
             "comma-separated, e.g. `redis://10.0.0.31:6379/0,redis://10.0.0.32:6379/0`; the same list, in the "
             "same order, on every host", REDIS, has_password=True, check=check_redis_urls, shown="REDIS_URL"),
    Variable("CELERY_BROKER_URL", "str", "", "another broker, e.g. RabbitMQ `amqp://guest:guest@host:5672//`",
             REDIS, has_password=True, check=check_broker_url, shown="REDIS_URL"),
    Variable("CELERY_RESULT_BACKEND", "str", "", "where task results are kept", REDIS,
             has_password=True, check=check_broker_url, shown="REDIS_URL"),
    Variable("CELERY_VISIBILITY_TIMEOUT", "int", 3600, "seconds before the Redis broker hands an unacknowledged "
             "task (its worker died) to another worker; keep it above the longest countdown (300)", REDIS),
    Variable("CELERY_SOFT_SHUTDOWN_TIMEOUT", "float", 10, "seconds of Celery's soft shutdown after the warm one: "
             "unfinished tasks go back to the queue", REDIS),
    Variable("BEAT_LOCK_TTL", "int", 30, "seconds a dead beat's lock outlives it: a standby beat, which asks "
             "every third of it, takes over within this and a third", REDIS),
    # --- Processes (manage.py serve) ------------------------------------------------------------
    Variable("WEB_HOST", "str", "127.0.0.1", "where `serve` listens (`--host` wins)", SERVE, essential=True),
    Variable("WEB_PORT", "int", 8000, "the port `serve` listens on (`--port` wins)", SERVE, essential=True),
    # Two: a process runs Python on one core at a time (the GIL); on a 2-core machine one web
    # process served the REST API at about half the rate of gunicorn with two (bench/rest_read.py).
    Variable("WEB_WORKERS", "int", 2, "web processes started by `serve`; one runs Python on one core at a "
             "time, so raise it with the cores", SERVE, essential=True),
    Variable("CELERY_WORKER_CONCURRENCY", "int", 2, "task processes of the worker started by `serve`", SERVE),
    # Few: Python runs one of them at a time, and each more waits on the GIL and on Django's
    # per-request locks (its cache and time zone registries) without serving more. On this 2-core
    # machine the REST read served 590 req/s with 20, 650 with 8 and 700 with 4 (bench/rest_read.py).
    # Bodies are read before a thread is taken, so slow clients hold none.
    Variable("WEB_THREADS", "int", 4, "threads running Django requests in each web process", SERVE),
    Variable("GC_YOUNG_THRESHOLD", "int", 10_000, "allocations between young garbage collections in web and "
             "worker processes (`0`: CPython's 700)", SERVE),
    # --- HTTP: security and limits --------------------------------------------------------------
    Variable("DJANGO_CSRF_TRUSTED_ORIGINS", "list", (), "origins allowed to POST with the session cookie, e.g. "
             "`https://app.example.com`", HTTP, shown="none"),
    Variable("CORS_ALLOWED_ORIGINS", "list", (), "browser origins allowed to call `/api/` with credentials "
             "(never `*`)", HTTP, shown="none"),
    Variable("DJANGO_SECURE_SSL_REDIRECT", "bool", None, "redirect HTTP to HTTPS (`/health/` exempt)", HTTP,
             shown="true in production, else false", example="true"),
    Variable("DJANGO_SECURE_HSTS_SECONDS", "int", None, "HSTS max-age, seconds", HTTP,
             shown="31536000 in production, else 0", example="31536000"),
    Variable("DJANGO_SECURE_PROXY_SSL_HEADER", "bool", False, "trust `X-Forwarded-Proto: https` from the TLS "
             "proxy in front", HTTP),
    Variable("HTTP_MAX_BODY_BYTES", "int", 1024 * 1024, "largest non-file request body, chunked included "
             "(413 over it)", HTTP),
    Variable("HTTP_MAX_UPLOAD_BYTES", "int", 10 * 1024 * 1024, "largest multipart request, chunked included "
             "(413 over it)", HTTP),
    Variable("HTTP_MAX_FIELDS", "int", 200, "form fields per request (413 over it)", HTTP),
    Variable("HTTP_MAX_FILES", "int", 5, "files per request (413 over it)", HTTP),
    Variable("HTTP_HEADER_TIMEOUT", "float", 10.0, "seconds a client may take to send a request's headers "
             "(408 after)", HTTP),
    Variable("HTTP_MAX_HEADER_BYTES", "int", 64 * 1024, "largest request head: request line and headers "
             "(431 over it)", HTTP),
    Variable("HTTP_BODY_TIMEOUT", "float", 60.0, "seconds a client may take to send a whole request body "
             "(408 after)", HTTP),
    Variable("HTTP_BODY_BUFFER_BYTES", "int", 128 * 1024 * 1024, "bytes of request bodies being received at once "
             "per web process, all clients together (503 past it)", HTTP),
    Variable("HTTP_KEEP_ALIVE_TIMEOUT", "int", 5, "seconds an idle kept-alive connection stays open", HTTP),
    Variable("HTTP_MAX_CONCURRENCY", "int", 200, "requests in flight per web process (503 with Retry-After "
             "past it)", HTTP),
    Variable("RESPONSE_DEADLINE", "float", 5.0, "seconds within which every HTTP answer begins (else 503: a "
             "dependency is down or hung) and a socket handshake is decided (else 1013); `0`: no HTTP deadline",
             HTTP),
    Variable("API_RATE_LIMIT_IP", "str", "1200/minute", "API requests per client IP (429 with Retry-After "
             "over it)", HTTP),
    Variable("API_RATE_LIMIT_USER", "str", "600/minute", "API requests per owner (429 with Retry-After over it)",
             HTTP),
    # --- Accounts -------------------------------------------------------------------------------
    Variable("SESSION_AGE_DAYS", "int", 14, "a browser session lasts this long after log-in; an app token this "
             "long after its last use", ACCOUNTS),
    Variable("TRUSTED_PROXY_COUNT", "int", 0, "reverse proxies in front that append to `X-Forwarded-For` "
             "(rate limits count per client address)", ACCOUNTS),
    Variable("GOOGLE_CLIENT_ID", "str", "", "\"Log in with Google\" (or add a Social application in the admin)",
             ACCOUNTS, shown="unset"),
    Variable("GOOGLE_CLIENT_SECRET", "str", "", "its secret; required with `GOOGLE_CLIENT_ID`", ACCOUNTS,
             secret=True, shown="unset"),
    Variable("GITHUB_CLIENT_ID", "str", "", "\"Log in with GitHub\" (or add a Social application in the admin)",
             ACCOUNTS, shown="unset"),
    Variable("GITHUB_CLIENT_SECRET", "str", "", "its secret; required with `GITHUB_CLIENT_ID`", ACCOUNTS,
             secret=True, shown="unset"),
    Variable("OIDC_CLIENT_ID", "str", "", "log-in with an OpenID Connect server (more of them: the admin)",
             ACCOUNTS, shown="unset"),
    Variable("OIDC_CLIENT_SECRET", "str", "", "its secret", ACCOUNTS, secret=True, shown="unset"),
    Variable("OIDC_SERVER_URL", "str", "", "required with `OIDC_CLIENT_ID`: the issuer", ACCOUNTS,
             shown="unset", example="https://id.example.com/realms/main"),
    Variable("OIDC_PROVIDER_ID", "str", "oidc", "its id in URLs (`/accounts/oidc/<id>/login/callback/` is the "
             "redirect URI to register)", ACCOUNTS),
    Variable("OIDC_NAME", "str", "OpenID Connect", "its button label", ACCOUNTS),
    Variable("OIDC_EMAIL_AUTHENTICATION", "bool", False, "trust the server's `email_verified` to log into (and "
             "link) an existing account with that address", ACCOUNTS),
    # --- Mail -----------------------------------------------------------------------------------
    Variable("EMAIL_URL", "str", "", "SMTP server, e.g. `smtp://user:pass@smtp.example.com:587/?tls=True`", MAIL,
             has_password=True, check=check_email_url, shown="files in var/mail"),
    Variable("EMAIL_QUEUE", "str", "", "a Celery queue of its own for mail tasks, for workers that only send "
             "mail (`celery worker -Q <name>`)", MAIL, shown="the default queue"),
    Variable("DEFAULT_FROM_EMAIL", "str", "Cat Feeder <noreply@localhost>", "sender of every mail", MAIL),
    # --- Storage --------------------------------------------------------------------------------
    Variable("S3_BUCKET", "str", "", "bucket for uploaded files (pet photos); setting it switches storage to S3",
             STORAGE, shown="none: files in var/media", example="catfeeder-photos"),
    Variable("S3_ENDPOINT_URL", "str", "", "the S3-compatible server the app talks to, e.g. `http://minio:9000`",
             STORAGE, shown="AWS"),
    Variable("S3_PUBLIC_ENDPOINT_URL", "str", "", "the address clients reach the server at; signed URLs are made "
             "for it", STORAGE, shown="S3_ENDPOINT_URL"),
    Variable("S3_REGION", "str", "us-east-1", "the bucket's region", STORAGE),
    Variable("S3_ACCESS_KEY_ID", "str", "", "the bucket's access key", STORAGE,
             shown="boto3's own chain (AWS_* variables, instance or pod role)"),
    Variable("S3_SECRET_ACCESS_KEY", "str", "", "the bucket's secret key", STORAGE, secret=True,
             shown="boto3's own chain"),
    Variable("S3_ADDRESSING_STYLE", "str", None, "`path` (`host/bucket/key`), `virtual` (`bucket.host/key`) or "
             "`auto`", STORAGE, choices=("auto", "path", "virtual"), shown="path with S3_ENDPOINT_URL, else auto",
             example="path"),
    Variable("S3_CHECKSUMS", "str", None, "upload checksums: boto3 >= 1.36 sends them always (`when_supported`), "
             "which MinIO, R2 and others may refuse", STORAGE, choices=("when_required", "when_supported"),
             shown="when_required with S3_ENDPOINT_URL, else when_supported", example="when_required"),
    Variable("S3_SIGNED_URL_SECONDS", "int", 300, "how long a photo URL given by the API stays valid", STORAGE),
    Variable("PHOTO_MAX_BYTES", "int", 8 * 1024 * 1024, "largest photo upload (413 over it; keep it under "
             "`HTTP_MAX_UPLOAD_BYTES`)", STORAGE),
    Variable("PHOTO_MAX_PIXELS", "int", 25_000_000, "largest photo in pixels, width x height (422 over it: "
             "decompression bombs)", STORAGE),
    # --- Typed messages and devices -------------------------------------------------------------
    Variable("MESSAGE_THREADS", "int", 20, "threads running database message handlers in each web process",
             MESSAGES),
    Variable("MESSAGE_TIMEOUT", "float", 5.0, "seconds a typed message may wait on its credential check and "
             "handler; past it, 503 / `Error{dependency_unavailable}`", MESSAGES),
    Variable("WS_MESSAGES_PER_SECOND", "float", 20, "frames a message socket may send per second, on average",
             MESSAGES),
    Variable("WS_MESSAGE_BURST", "float", None, "frames a message socket may send at once", MESSAGES,
             shown="twice WS_MESSAGES_PER_SECOND", example="40"),
    Variable("WS_PING_INTERVAL", "int", 300, "seconds between the web process's pings of an idle WebSocket, "
             "which find a connection that vanished without a close; 0: none (feeders are watched by their "
             "heartbeats either way)", MESSAGES),
    Variable("FEEDER_HEARTBEAT_INTERVAL", "int", 30, "seconds between device heartbeats (told to devices in "
             "`Welcome`)", MESSAGES),
    Variable("FEEDER_OFFLINE_AFTER", "int", 90, "seconds of silence after which a feeder's socket is closed and "
             "it is offline", MESSAGES),
    # --- Scheduled meals, feed commands, alerts -------------------------------------------------
    Variable("MEAL_DISPATCH_INTERVAL", "int", 1, "seconds between meal dispatcher ticks (beat)", MEALS),
    Variable("MEAL_DISPATCH_BATCH", "int", 500, "due slots locked and turned into commands per transaction",
             MEALS),
    Variable("MEAL_MISSED_GRACE", "int", 900, "seconds a slot may be late: later, it is missed (the owner is "
             "told); also how long a scheduled command stays valid", MEALS),
    Variable("MEAL_LOCAL_GRACE", "int", 60, "seconds after a slot without a `FeedNow` before a feeder that keeps "
             "its schedule serves the meal on its own (told to devices in `ScheduleSync`)", MEALS),
    Variable("MEAL_LOCAL_REPORT_WAIT", "int", 86400, "seconds a slot never sent to an offline feeder that keeps "
             "its schedule waits for the feeder to report it before it counts as missed", MEALS),
    Variable("FEEDER_CLOCK_MAX_OFFSET", "int", 300, "seconds a device's clock may be off the server's: further "
             "out, the times it reports are recorded as untrusted", MEALS),
    Variable("COMMAND_RESEND_AFTER", "int", 30, "seconds a sent command waits for the device's result before it "
             "is sent again", MEALS),
    Variable("COMMAND_EXPIRE_AFTER", "int", 600, "seconds a \"feed now\" command stays valid", MEALS),
    Variable("COMMAND_MAX_DELIVERIES", "int", 10, "delivery tasks one command may start; then it fails and the "
             "owner is told", MEALS),
    Variable("COMMAND_RECONCILE_INTERVAL", "int", 10, "seconds between reconciler runs (resends, expiry, missed "
             "slots)", MEALS),
    Variable("FEED_COMMAND_QUEUE", "str", "", "Celery queue of the delivery tasks and the offline-meal notices", MEALS,
             shown="the default queue"),
    Variable("RETENTION_DAYS", "int", 365, "visits, feedings and closed commands older than this are deleted",
             MEALS),
    Variable("ALERT_OFFLINE_AFTER", "int", 1800, "seconds offline before the owner gets a \"feeder offline\" mail",
             MEALS),
    Variable("ALERT_LOW_FOOD_PERCENT", "int", 15, "food level at or under which the owner gets a \"low food\" "
             "mail (the incident ends 10 points over it)", MEALS),
    # --- Home Assistant (MQTT) -----------------------------------------------------------------
    Variable("MQTT_URL", "str", "", "the MQTT broker Home Assistant listens to, e.g. "
             "`mqtts://user:pass@broker.example.com:8883`; setting it makes `serve` start the bridge",
             HOME_ASSISTANT, has_password=True, check=check_mqtt_url, shown="none: no bridge"),
    Variable("MQTT_TOPIC_PREFIX", "str", "catfeeder", "first level of every topic the bridge uses; each "
             "household's topics are under `<prefix>/<household id>/`", HOME_ASSISTANT),
    # --- Logs and operations --------------------------------------------------------------------
    Variable("LOG_DIR", "str", None, "where every process writes its JSON-lines log files", OPS,
             shown="var/log", example="./var/log"),
    Variable("LOG_MAX_BYTES", "int", 1_000_000_000, "total size of all log files; the oldest files (any "
             "process) go first", OPS),
    Variable("LOG_FILE_BYTES", "int", 10_000_000, "size at which a process starts a new log file", OPS),
    Variable("LOG_CONSOLE", "str", None, "console format: readable (`dev`) or JSON lines", OPS,
             choices=("dev", "json"), shown="dev with DJANGO_DEBUG, else json", example="json"),
    Variable("OPS_TOKEN", "str", "", "production: `/health` details and `/metrics` need `Authorization: Bearer "
             "<token>` (or a staff login)", OPS, secret=True, shown="none"),
    Variable("OPS_READY_SHARED", "str", "fail", "storage or mail down: `fail` turns `/health/ready` 503; `warn` "
             "keeps instances in service and lists them under `warnings`", OPS, choices=("fail", "warn")),
    Variable("OPS_DRAIN_GRACE", "float", 2.0, "seconds a drained web instance keeps answering (readiness 503) "
             "before it stops", OPS),
)  # fmt: skip

BY_NAME = {variable.name: variable for variable in VARIABLES}
if len(BY_NAME) != len(VARIABLES):
    raise ValueError("an environment variable is declared twice")
