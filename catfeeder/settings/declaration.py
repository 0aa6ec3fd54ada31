"""What an environment variable is: its name, type, default, secrecy and one line of documentation.

The variables themselves are listed in `catfeeder.settings.variables`. This module is read while
settings load, so it imports nothing of Django's settings; it checks values as text, the way they
sit in the environment or in `.env`, for `manage.py settings --store`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import environ

Kind = Literal["bool", "int", "float", "str", "list"]
Default = bool | int | float | str | tuple[str, ...] | None
TRUE = {"true", "1", "yes", "on", "y", "t"}
FALSE = {"false", "0", "no", "off", "n", "f", ""}


def check_bool(value: str) -> None:
    if value.strip().lower() not in TRUE | FALSE:
        raise ValueError("expected true or false")


def check_int(value: str) -> None:
    if int(value) < 0:
        raise ValueError("expected a whole number, 0 or more")


def check_float(value: str) -> None:
    if float(value) < 0:
        raise ValueError("expected a number, 0 or more")


def check_text(value: str) -> None:
    if "\n" in value:
        raise ValueError("one line only")


def check_hosts(value: str) -> None:
    if not [h for h in value.split(",") if h.strip()]:
        raise ValueError("expected comma-separated host names")


def check_database_url(value: str) -> None:
    with warnings.catch_warnings():  # django-environ warns about an unknown scheme; we raise instead
        warnings.simplefilter("ignore")
        engine = environ.Env.db_url_config(value).get("ENGINE")
    if not engine:
        raise ValueError("not a database URL")


def check_redis_url(value: str) -> None:
    if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
        raise ValueError("expected redis://, rediss:// or unix://")


def check_redis_urls(value: str) -> None:
    """Comma-separated Redis URLs (the channel layer's shards); empty means REDIS_URL alone."""
    for url in (part.strip() for part in value.split(",")):
        if url:
            check_redis_url(url)
        elif value.strip():
            raise ValueError("an empty entry between commas")


def check_broker_url(value: str) -> None:
    if urlsplit(value).scheme not in {"redis", "rediss", "redis+socket", "amqp", "amqps", "pyamqp"}:
        raise ValueError("expected a redis:// or amqp:// URL")


def check_mqtt_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
        raise ValueError("expected mqtt://user:pass@host:1883 or mqtts://user:pass@host:8883")


def check_email_url(value: str) -> None:
    if not environ.Env.email_url_config(value).get("EMAIL_BACKEND"):
        raise ValueError("not an e-mail URL (smtp://, consolemail://, filemail://, memorymail://)")


def check_secret_key(value: str) -> None:
    if len(value) < 50 or len(set(value)) < 5 or value.startswith("django-insecure"):
        raise ValueError("use 50+ random characters")


KIND_CHECKS: dict[Kind, Callable[[str], None]] = {
    "bool": check_bool,
    "int": check_int,
    "float": check_float,
    "str": check_text,
    "list": check_text,
}
NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Variable:
    """One environment variable.

    `default` is what an unset variable reads as. None means the default is worked out from
    other settings where the variable is read (`shown` then says how); `shown` may also put a
    default in words where the bare value says little (an empty URL: an embedded service).
    """

    name: str
    kind: Kind
    default: Default
    doc: str
    group: str
    secret: bool = False  # never shown, never logged
    has_password: bool = False  # a URL whose password is masked
    essential: bool = False  # in the README's short table: what a newcomer sets first
    choices: tuple[str, ...] = ()  # read in lower case; anything else stops start-up
    check: Callable[[str], None] | None = None  # beyond the kind's own check
    example: str = ""  # a value worth showing in .env.example, when the default is not one
    shown: str = ""

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"{self.name!r} is not an environment variable name")
        if "\n" in self.doc or not self.doc:
            raise ValueError(f"{self.name}: the documentation is one line")
        if self.default is None and not (self.shown and self.example):
            # Words for the tables; a value for .env.example, where an empty one would not be the default.
            raise ValueError(f"{self.name}: a worked-out default needs `shown` and an `example`")

    def validate(self, value: str) -> None:
        """Raise ValueError naming the problem when `value` (as text) is not good for this variable."""
        KIND_CHECKS[self.kind](value)
        if self.choices and value.strip().lower() not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}")
        if self.check is not None:
            self.check(value)

    @property
    def default_text(self) -> str:
        """The default as people read it."""
        if self.shown:
            return self.shown
        return env_text(self.default) or "empty"

    @property
    def type_text(self) -> str:
        if self.choices:
            return " | ".join(self.choices)
        return {"bool": "true/false", "int": "integer", "float": "number", "str": "text", "list": "list"}[self.kind]


def env_text(value: Default) -> str:
    """A typed value written the way the environment or `.env` gives it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return "" if value is None else str(value)


def env_quote(value: str) -> str:
    """A value quoted for a `.env` line when it holds spaces, quotes or a `#`."""
    if not any(c in value for c in " #'\""):
        return value
    return f"'{value}'" if "'" not in value else f'"{value}"'
