"""The effective value of every declared environment variable, where it came from, and storing one in `.env`.

The variables are declared once, in catfeeder/settings/variables.py. The environment wins over
`.env`, which wins over the default (see catfeeder/settings/environment.py).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from catfeeder.settings.declaration import Variable, env_quote
from catfeeder.settings.variables import BY_NAME, VARIABLES

MASK = "********"
_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
CATALOG = VARIABLES  # the name benchmarks know it by


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
    if variable.has_password and variable.kind == "list":
        return ",".join(mask_password(url) for url in value.split(","))
    if variable.has_password:
        return mask_password(value)
    return value


def mask_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url


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
            rows.append(Effective(variable.name, variable.default_text, "default"))
    return rows


def setting_validate(*, name: str, value: str) -> None:
    """Raise ValueError naming the problem when `value` is not good for `name`."""
    if not _KEY.match(name) or name not in BY_NAME:
        raise ValueError(f"unknown setting {name!r} (see `manage.py settings`)")
    try:
        BY_NAME[name].validate(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def setting_store(*, env_file: Path, name: str, value: str) -> None:
    """Validate, then write `name=value` to the .env file (replacing a line, or appending one), atomically."""
    setting_validate(name=name, value=value)
    lines = env_file.read_text(encoding="utf-8").splitlines() if env_file.exists() else []
    new_line = f"{name}={env_quote(value)}"
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
