from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catfeeder.settings.catalog import settings_effective
from catfeeder.settings.variables import VARIABLES


def test_the_catalog_lists_every_declared_variable_once() -> None:
    rows = settings_effective(env_file=Path("/nonexistent/.env"), environment={})
    assert [row.name for row in rows] == [v.name for v in VARIABLES]
    assert {row.source for row in rows} == {"default"}


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


def test_check_docs_passes_when_the_generated_files_follow_the_declaration(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("settings", "--check-docs")  # raises CommandError naming the stale files otherwise
    assert capsys.readouterr().out == ""


def test_the_table_masks_secrets_and_shows_defaults_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPS_TOKEN", raising=False)
    monkeypatch.delenv("S3_BUCKET", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("OPS_TOKEN=letmein\n")
    call_command("settings", "--env-file", str(env_file))
    lines = {line.split()[0]: line.split(maxsplit=2)[1:] for line in capsys.readouterr().out.splitlines()}
    assert lines["OPS_TOKEN"] == [".env", "********"]
    assert lines["S3_BUCKET"] == ["default", "none: files in var/media"]
