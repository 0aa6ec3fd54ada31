"""Every setting the environment can give, how to check a value, and where the effective one came from.

The environment wins over `.env`, which wins over the default (see
catfeeder/settings/base.py). `.env.example` lists the same names; a test
keeps the two in step.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ

MASK = "********"
_TRUE = {"true", "1", "yes", "on", "y", "t"}
_FALSE = {"false", "0", "no", "off", "n", "f", ""}
_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _bool(value: str) -> None:
    if value.strip().lower() not in _TRUE | _FALSE:
        raise ValueError("expected true or false")


def _int(value: str) -> None:
    if int(value) < 0:
        raise ValueError("expected a whole number, 0 or more")


def _float(value: str) -> None:
    if float(value) < 0:
        raise ValueError("expected a number, 0 or more")


def _text(value: str) -> None:
    if "\n" in value:
        raise ValueError("one line only")


def _hosts(value: str) -> None:
    if not [h for h in value.split(",") if h.strip()]:
        raise ValueError("expected comma-separated host names")


def _database_url(value: str) -> None:
    with warnings.catch_warnings():  # django-environ warns about an unknown scheme; we raise instead
        warnings.simplefilter("ignore")
        engine = environ.Env.db_url_config(value).get("ENGINE")
    if not engine:
        raise ValueError("not a database URL")


def _redis_url(value: str) -> None:
    if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
        raise ValueError("expected redis://, rediss:// or unix://")


def _broker_url(value: str) -> None:
    if urlsplit(value).scheme not in {"redis", "rediss", "redis+socket", "amqp", "amqps", "pyamqp"}:
        raise ValueError("expected a redis:// or amqp:// URL")


def _email_url(value: str) -> None:
    if not environ.Env.email_url_config(value).get("EMAIL_BACKEND"):
        raise ValueError("not an e-mail URL (smtp://, consolemail://, filemail://, memorymail://)")


def _choice(*choices: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        if value.strip().lower() not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")

    return check


def _secret_key(value: str) -> None:
    if len(value) < 50 or len(set(value)) < 5 or value.startswith("django-insecure"):
        raise ValueError("use 50+ random characters")


@dataclass(frozen=True)
class Variable:
    name: str
    default: str  # as people read it
    check: Callable[[str], None]
    secret: bool = False  # never shown
    has_password: bool = False  # a URL whose password is masked


CATALOG = [
    Variable("DJANGO_DEBUG", "true", _bool),
    Variable("DJANGO_SECRET_KEY", "a development key (DEBUG only)", _secret_key, secret=True),
    Variable("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1] (DEBUG only)", _hosts),
    Variable("DJANGO_LOG_LEVEL", "INFO", _choice("debug", "info", "warning", "error", "critical")),
    Variable("CATFEEDER_VAR_DIR", "./var", _text),
    Variable("DATABASE_URL", "SQLite in var/db.sqlite3", _database_url, has_password=True),
    Variable("DATABASE_CONN_MAX_AGE", "60", _int),
    Variable("DATABASE_CONNECT_TIMEOUT", "2", _int),
    Variable("REDIS_URL", "embedded Redis on var/redis.sock", _redis_url, has_password=True),
    Variable("CELERY_BROKER_URL", "REDIS_URL", _broker_url, has_password=True),
    Variable("CELERY_RESULT_BACKEND", "REDIS_URL", _broker_url, has_password=True),
    Variable("EMAIL_URL", "files in var/mail", _email_url, has_password=True),
    Variable("DEFAULT_FROM_EMAIL", "Cat Feeder <noreply@localhost>", _text),
    Variable("WEB_HOST", "127.0.0.1", _text),
    Variable("WEB_PORT", "8000", _int),
    Variable("WEB_WORKERS", "2", _int),
    Variable("CELERY_WORKER_CONCURRENCY", "2", _int),
    Variable("SESSION_AGE_DAYS", "14", _int),
    Variable("TRUSTED_PROXY_COUNT", "0", _int),
    Variable("GOOGLE_CLIENT_ID", "unset", _text),
    Variable("GOOGLE_CLIENT_SECRET", "unset", _text, secret=True),
    Variable("GITHUB_CLIENT_ID", "unset", _text),
    Variable("GITHUB_CLIENT_SECRET", "unset", _text, secret=True),
    Variable("OIDC_CLIENT_ID", "unset", _text),
    Variable("OIDC_CLIENT_SECRET", "unset", _text, secret=True),
    Variable("OIDC_SERVER_URL", "unset", _text),
    Variable("OIDC_PROVIDER_ID", "oidc", _text),
    Variable("OIDC_NAME", "OpenID Connect", _text),
    Variable("OIDC_EMAIL_AUTHENTICATION", "false", _bool),
    Variable("S3_BUCKET", "none: files in var/media", _text),
    Variable("S3_ENDPOINT_URL", "AWS", _text),
    Variable("S3_PUBLIC_ENDPOINT_URL", "S3_ENDPOINT_URL", _text),
    Variable("S3_REGION", "us-east-1", _text),
    Variable("S3_ACCESS_KEY_ID", "unset", _text),
    Variable("S3_SECRET_ACCESS_KEY", "unset", _text, secret=True),
    Variable("S3_ADDRESSING_STYLE", "path", _choice("path", "virtual", "auto")),
    Variable("S3_CHECKSUMS", "when_required", _choice("when_required", "when_supported")),
    Variable("S3_SIGNED_URL_SECONDS", "300", _int),
    Variable("PHOTO_MAX_BYTES", "8388608", _int),
    Variable("PHOTO_MAX_PIXELS", "25000000", _int),
    Variable("HTTP_MAX_HEADER_BYTES", "65536", _int),
    Variable("HTTP_BODY_TIMEOUT", "60", _float),
    Variable("HTTP_BODY_BUFFER_BYTES", "134217728", _int),
    Variable("MESSAGE_THREADS", "20", _int),
    Variable("MESSAGE_TIMEOUT", "5", _float),
    Variable("GC_YOUNG_THRESHOLD", "10000", _int),
    Variable("WS_MESSAGES_PER_SECOND", "20", _int),
    Variable("WS_MESSAGE_BURST", "40", _int),
    Variable("FEEDER_HEARTBEAT_INTERVAL", "30", _int),
    Variable("FEEDER_OFFLINE_AFTER", "90", _int),
    Variable("MEAL_DISPATCH_INTERVAL", "1", _int),
    Variable("MEAL_DISPATCH_BATCH", "500", _int),
    Variable("MEAL_MISSED_GRACE", "900", _int),
    Variable("COMMAND_RESEND_AFTER", "30", _int),
    Variable("COMMAND_EXPIRE_AFTER", "600", _int),
    Variable("COMMAND_MAX_DELIVERIES", "10", _int),
    Variable("COMMAND_RECONCILE_INTERVAL", "10", _int),
    Variable("FEED_COMMAND_QUEUE", "the default queue", _text),
    Variable("BEAT_LOCK_TTL", "30", _int),
    Variable("CELERY_VISIBILITY_TIMEOUT", "3600", _int),
    Variable("CELERY_SOFT_SHUTDOWN_TIMEOUT", "10", _float),
    Variable("RETENTION_DAYS", "365", _int),
    Variable("ALERT_OFFLINE_AFTER", "1800", _int),
    Variable("ALERT_LOW_FOOD_PERCENT", "15", _int),
    Variable("LOG_DIR", "var/log", _text),
    Variable("LOG_MAX_BYTES", "1000000000", _int),
    Variable("LOG_FILE_BYTES", "10000000", _int),
    Variable("LOG_CONSOLE", "dev with DJANGO_DEBUG, json otherwise", _choice("dev", "json")),
    Variable("OPS_TOKEN", "none (details need a staff login)", _text, secret=True),
    Variable("OPS_DRAIN_GRACE", "2.0", _float),
    Variable("RESPONSE_DEADLINE", "5", _float),
    Variable("OPS_READY_SHARED", "fail", _choice("fail", "warn")),
]
SECRET_HINTS = ("SECRET", "PASSWORD", "TOKEN", "_KEY")
EXAMPLE = Path(__file__).resolve().parent.parent.parent / ".env.example"


def _listed_in_example() -> list[Variable]:
    """Names .env.example lists that the catalog does not know yet: plain text, secrets hidden by name."""
    if not EXAMPLE.exists():
        return []
    known = {v.name for v in CATALOG}
    names = re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return [
        Variable(name, "see .env.example", _text, secret=any(hint in name for hint in SECRET_HINTS))
        for name in dict.fromkeys(names)
        if name not in known
    ]


VARIABLES = CATALOG + _listed_in_example()
BY_NAME = {v.name: v for v in VARIABLES}


@dataclass(frozen=True)
class Effective:
    name: str
    value: str  # masked where secret
    source: str  # environment, .env, default
    overrides_env_file: bool = False


def env_file_read(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as django-environ reads them (comments and blanks skipped, quotes removed)."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def mask(variable: Variable, value: str) -> str:
    if variable.secret:
        return MASK if value else ""
    if variable.has_password:
        parts = urlsplit(value)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
            return urlunsplit(parts._replace(netloc=netloc))
    return value


def settings_effective(*, env_file: Path, environment: dict[str, str] | None = None) -> list[Effective]:
    """Each variable's effective value and its source.

    base.py copies `.env` into os.environ without overriding, so a name in
    both with different values was set by the environment (and overrides .env).
    """
    environment = dict(os.environ if environment is None else environment)
    from_file = env_file_read(env_file)
    rows = []
    for variable in VARIABLES:
        if variable.name in environment and environment[variable.name] != from_file.get(variable.name):
            value = environment[variable.name]
            rows.append(Effective(variable.name, mask(variable, value), "environment", variable.name in from_file))
        elif variable.name in from_file:
            rows.append(Effective(variable.name, mask(variable, from_file[variable.name]), ".env"))
        else:
            rows.append(Effective(variable.name, variable.default, "default"))
    return rows


def setting_validate(*, name: str, value: str) -> None:
    """Raise ValueError naming the problem when `value` is not good for `name`."""
    if not _KEY.match(name) or name not in BY_NAME:
        raise ValueError(f"unknown setting {name!r} (see `manage.py settings`)")
    try:
        BY_NAME[name].check(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _quote(value: str) -> str:
    if not any(c in value for c in " #'\""):
        return value
    return f"'{value}'" if "'" not in value else f'"{value}"'


def setting_store(*, env_file: Path, name: str, value: str) -> None:
    """Validate, then write `name=value` to the .env file (replacing a line, or appending one), atomically."""
    setting_validate(name=name, value=value)
    lines = env_file.read_text(encoding="utf-8").splitlines() if env_file.exists() else []
    new_line = f"{name}={_quote(value)}"
    replaced = False
    for i, line in enumerate(lines):
        key = line.strip().removeprefix("export ").partition("=")[0].strip()
        if key == name and not line.lstrip().startswith("#"):
            lines[i], replaced = new_line, True
    if not replaced:
        lines.append(new_line)
    env_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=env_file.parent, prefix=".env.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(tmp, 0o600)  # it may hold secrets
    os.replace(tmp, env_file)
