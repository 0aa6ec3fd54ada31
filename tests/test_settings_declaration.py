"""Each environment variable is declared once (catfeeder/settings/variables.py); everything else follows it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from catfeeder.settings.accounts import social_providers
from catfeeder.settings.declaration import env_text
from catfeeder.settings.documents import (
    CONFIGURATION,
    ENV_EXAMPLE,
    README,
    REGENERATE,
    between_markers,
    documents_stale,
    documents_write,
)
from catfeeder.settings.environment import Environment
from catfeeder.settings.variables import BY_NAME, VARIABLES
from catfeeder.testing import BASE_DIR

# Names processes hand to each other, not configuration a person sets.
INTERNAL = {"DJANGO_SETTINGS_MODULE", "CATFEEDER_PROCESS", "CATFEEDER_TEST_DIR", "PYTHONPATH"}
ENVIRON_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']|os\.environ\[["']([A-Z][A-Z0-9_]*)["']\](?!\s*=)"""
)
DIRECT_ENV_READ = re.compile(r"\benv\.(?:str|int|bool|float|list|json|url|db_url|email_url|cache_url)\(")


# The test settings read the test runner's variables (pytest-xdist's worker, the run's directory):
# they configure the suite, not the product.
TEST_SUPPORT = {Path("catfeeder/settings/test.py"), Path("catfeeder/testing.py")}


def product_sources() -> list[Path]:
    files = [*BASE_DIR.joinpath("catfeeder").rglob("*.py"), *BASE_DIR.joinpath("apps").rglob("*.py")]
    return [
        path
        for path in files
        if "tests" not in path.parts
        and "migrations" not in path.parts
        and path.relative_to(BASE_DIR) not in TEST_SUPPORT
    ]


def test_the_generated_files_follow_the_declaration() -> None:
    stale = [str(path.relative_to(BASE_DIR)) for path in documents_stale(BASE_DIR)]
    assert not stale, f"{', '.join(stale)} differ from catfeeder/settings/variables.py: run `{REGENERATE}`"


def test_every_variable_the_code_reads_is_declared_and_read_through_settings() -> None:
    problems = []
    for path in product_sources():
        text = path.read_text(encoding="utf-8")
        for match in ENVIRON_READ.finditer(text):
            name = match.group(1) or match.group(2)
            if name in BY_NAME:
                problems.append(f"{path.relative_to(BASE_DIR)} reads {name} itself: use settings.{name}")
            elif name not in INTERNAL:
                problems.append(f"{path.relative_to(BASE_DIR)} reads {name}: declare it in variables.py")
        if path.name != "environment.py" and DIRECT_ENV_READ.search(text):
            problems.append(f"{path.relative_to(BASE_DIR)} reads django-environ directly: use env.read_*()")
    assert problems == []


def test_every_declared_variable_is_read_by_a_settings_module() -> None:
    settings_dir = BASE_DIR / "catfeeder" / "settings"
    readers = "".join(p.read_text() for p in settings_dir.glob("*.py") if p.name not in {"variables.py", "test.py"})
    unread = [v.name for v in VARIABLES if f'"{v.name}"' not in readers]
    assert unread == []


def test_every_default_is_a_good_value_for_its_own_variable() -> None:
    for variable in VARIABLES:
        for text in (env_text(variable.default), variable.example):
            if text:
                variable.validate(text)


def test_secrets_have_no_default_to_leak() -> None:
    secrets = {v.name for v in VARIABLES if v.secret}
    assert {"DJANGO_SECRET_KEY", "OPS_TOKEN", "S3_SECRET_ACCESS_KEY"} <= secrets
    assert all(BY_NAME[name].default == "" for name in secrets)


def test_the_essential_variables_are_the_few_a_newcomer_sets() -> None:
    essential = {v.name for v in VARIABLES if v.essential}
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_DEBUG"} <= essential
    assert len(essential) <= 10


def test_a_read_takes_the_declared_type_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    env = Environment()
    monkeypatch.delenv("WEB_PORT", raising=False)
    assert env.read_int("WEB_PORT") == BY_NAME["WEB_PORT"].default
    monkeypatch.setenv("WEB_PORT", "9100")
    assert env.read_int("WEB_PORT") == 9100
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS", raising=False)
    first = env.read_list("CORS_ALLOWED_ORIGINS")
    first.append("https://a.example.com")
    assert env.read_list("CORS_ALLOWED_ORIGINS") == []  # each read gets a list of its own


def test_a_worked_out_default_is_used_only_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    env = Environment()
    monkeypatch.delenv("WS_MESSAGE_BURST", raising=False)
    assert env.read_float("WS_MESSAGE_BURST", unset=7.0) == 7.0
    monkeypatch.setenv("WS_MESSAGE_BURST", "3")
    assert env.read_float("WS_MESSAGE_BURST", unset=7.0) == 3.0


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda env: env.read_str("NOT_DECLARED"), "NOT_DECLARED is read but not declared"),
        (lambda env: env.read_str("WEB_PORT"), "WEB_PORT is declared as int, read as str"),
        (lambda env: env.read_int("WEB_PORT", unset=1), "WEB_PORT: pass `unset` exactly when"),
        (lambda env: env.read_float("WS_MESSAGE_BURST"), "WS_MESSAGE_BURST: pass `unset` exactly when"),
    ],
)
def test_a_read_that_does_not_match_the_declaration_stops_start_up(read: object, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        read(Environment())  # type: ignore[operator]


def test_a_value_outside_the_choices_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_READY_SHARED", "Warn")
    assert Environment().read_str("OPS_READY_SHARED") == "warn"
    monkeypatch.setenv("OPS_READY_SHARED", "sometimes")
    with pytest.raises(ImproperlyConfigured, match="OPS_READY_SHARED='sometimes' is not one of fail, warn"):
        Environment().read_str("OPS_READY_SHARED")


def test_write_docs_brings_a_drifted_copy_back_and_leaves_the_rest_of_each_file(tmp_path: Path) -> None:
    for path in (ENV_EXAMPLE, CONFIGURATION, README):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BASE_DIR / path, tmp_path / path)
    (tmp_path / ENV_EXAMPLE).write_text("DJANGO_DEBUG=true\n")
    readme = (tmp_path / README).read_text().replace("`WEB_WORKERS` | `2`", "`WEB_WORKERS` | `3`")
    (tmp_path / README).write_text("A line of my own.\n" + readme)
    assert set(documents_stale(tmp_path)) == {tmp_path / ENV_EXAMPLE, tmp_path / README}
    assert set(documents_write(tmp_path)) == {tmp_path / ENV_EXAMPLE, tmp_path / README}
    assert documents_stale(tmp_path) == []
    assert (tmp_path / README).read_text().startswith("A line of my own.\n")
    assert (tmp_path / ENV_EXAMPLE).read_text() == (BASE_DIR / ENV_EXAMPLE).read_text()


def test_a_file_without_its_markers_is_named() -> None:
    markers = ("<!-- a:start -->", "<!-- a:end -->")
    with pytest.raises(ValueError, match="README.md needs the markers"):
        between_markers("no markers here", markers, "| table |", where=README)
    assert between_markers("x\n<!-- a:start -->\nold\n<!-- a:end -->\ny", markers, "new", where=README) == (
        "x\n<!-- a:start -->\n\nnew\n\n<!-- a:end -->\ny"
    )


def test_a_social_client_id_without_its_secret_stops_start_up_naming_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_CLIENT_ID", "h-id")
    monkeypatch.delenv("GITHUB_CLIENT_SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match=r"GITHUB_CLIENT_SECRET is not set \(GITHUB_CLIENT_ID is\)"):
        social_providers(Environment())
