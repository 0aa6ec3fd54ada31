"""Where settings start: the project folder, `.env`, and a reader of the declared variables.

Every settings module reads the environment through `env` below, which knows each variable's
type and default from `catfeeder.settings.variables`: a name read here but not declared there
fails at start-up, and a declared default is never written a second time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from catfeeder.settings.declaration import Kind
from catfeeder.settings.variables import BY_NAME

BASE_DIR = Path(__file__).resolve().parent.parent.parent

_UNSET: Any = object()


class Environment:
    """Declared variables, read by django-environ with their declared type and default."""

    def __init__(self, env: environ.Env | None = None) -> None:
        self.env = env if env is not None else environ.Env()

    def read_bool(self, name: str, *, unset: bool = _UNSET) -> bool:
        return bool(self.read(name, "bool", unset))

    def read_int(self, name: str, *, unset: int = _UNSET) -> int:
        return int(self.read(name, "int", unset))

    def read_float(self, name: str, *, unset: float = _UNSET) -> float:
        value: float = self.read(name, "float", unset)
        return value  # an int default stays an int, as django-environ gives it

    def read_str(self, name: str, *, unset: str = _UNSET) -> str:
        return str(self.read(name, "str", unset))

    def read_list(self, name: str) -> list[str]:
        return list(self.read(name, "list", _UNSET))

    def read(self, name: str, kind: Kind, unset: Any) -> Any:
        """`unset` is the default worked out from other settings, for a variable declared without one."""
        variable = BY_NAME.get(name)
        if variable is None:
            raise ImproperlyConfigured(f"{name} is read but not declared in catfeeder/settings/variables.py.")
        if variable.kind != kind:
            raise ImproperlyConfigured(f"{name} is declared as {variable.kind}, read as {kind}.")
        if (variable.default is None) == (unset is _UNSET):
            raise ImproperlyConfigured(f"{name}: pass `unset` exactly when the declaration has no default.")
        default = variable.default if unset is _UNSET else unset
        value = getattr(self.env, kind)(name, default=list(default) if isinstance(default, tuple) else default)
        if variable.choices:
            value = str(value).strip().lower()
            if value not in variable.choices:
                raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(variable.choices)}.")
        return value


environ.Env.read_env(BASE_DIR / ".env")  # never overrides the real environment
env = Environment()

DEBUG = env.read_bool("DJANGO_DEBUG")

# var/ holds everything the embedded defaults write: SQLite, Redis, media, mail.
VAR_DIR = Path(env.read_str("CATFEEDER_VAR_DIR", unset=str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has none; SQLite will not create the folder
