from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.ops.settings_catalog import CATALOG, settings_effective
from catfeeder.testing import BASE_DIR


def test_the_catalog_and_env_example_name_the_same_variables() -> None:
    example = (BASE_DIR / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert {v.name for v in CATALOG} == listed  # a name missing here is still shown, as plain text


def test_each_value_says_where_it_came_from_and_secrets_stay_hidden(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "WEB_PORT=9000\nDJANGO_SECRET_KEY=abc\nDATABASE_URL=postgres://u:hunter2@db/cf\nWEB_HOST=0.0.0.0\n"
    )
    environment = {"WEB_HOST": "10.0.0.1", "WEB_PORT": "9000", "DATABASE_URL": "postgres://u:hunter2@db/cf"}
    rows = {r.name: r for r in settings_effective(env_file=env_file, environment=environment)}
    assert (rows["WEB_PORT"].source, rows["WEB_PORT"].value) == (".env", "9000")
    assert (rows["WEB_HOST"].source, rows["WEB_HOST"].value, rows["WEB_HOST"].overrides_env_file) == (
        "environment", "10.0.0.1", True)  # fmt: skip
    assert rows["WEB_WORKERS"].source == "default"
    assert rows["DJANGO_SECRET_KEY"].value == "********"
    assert rows["DATABASE_URL"].value == "postgres://u:********@db/cf"


def test_dump_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("settings", "--dump", "--env-file", str(tmp_path / ".env"))
    data = json.loads(capsys.readouterr().out)
    assert data["WEB_WORKERS"] == {"value": "2", "source": "default"}


def test_store_validates_then_writes_env_keeping_other_lines(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# mine\nWEB_PORT=9000\nDJANGO_DEBUG=true\n")
    call_command("settings", "--store", "WEB_PORT=9100", "--env-file", str(env_file))
    call_command("settings", "--store", "DEFAULT_FROM_EMAIL=Cat Feeder <cats@example.com>", "--env-file", str(env_file))
    assert env_file.read_text() == (
        "# mine\nWEB_PORT=9100\nDJANGO_DEBUG=true\nDEFAULT_FROM_EMAIL='Cat Feeder <cats@example.com>'\n"
    )
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600  # it may hold secrets


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("DJANGO_DEBUG=maybe", "DJANGO_DEBUG: expected true or false"),
        ("WEB_PORT=-1", "WEB_PORT: expected a whole number"),
        ("DATABASE_URL=nonsense", "DATABASE_URL"),
        ("REDIS_URL=http://x", "REDIS_URL: expected redis://"),
        ("NOT_A_SETTING=1", "unknown setting 'NOT_A_SETTING'"),
        ("WEB_PORT", "--store takes KEY=VALUE"),
    ],
)
def test_store_refuses_a_bad_value_and_writes_nothing(tmp_path: Path, assignment: str, message: str) -> None:
    env_file = tmp_path / ".env"
    with pytest.raises(CommandError, match=message):
        call_command("settings", "--store", assignment, "--env-file", str(env_file))
    assert not env_file.exists()
