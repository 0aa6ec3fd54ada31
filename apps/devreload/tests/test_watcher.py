"""The watcher on real folders, seen through the real channel layer as the pages see it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from django.template.loader import get_template
from pytest_django.fixtures import Settings

from apps.devreload.changes import Layout
from apps.devreload.listeners import route_from_setting
from apps.devreload.tests.conftest import PageProbe
from apps.devreload.watcher import Watcher
from catfeeder.testing import wait_until

LINT = """
import os, pathlib, sys
for name in os.environ["DEVRELOAD_CHANGED"].split():
    if "{{ broken" in pathlib.Path(name).read_text():
        print(f"{pathlib.Path(name).name}: unclosed variable tag")
        sys.exit(1)
"""


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Path:
    """A project whose static files and templates live in tmp_path."""
    (tmp_path / "static" / "css").mkdir(parents=True)
    (tmp_path / "templates").mkdir()
    (tmp_path / "static" / "css" / "site.css").write_text("body { color: red }")
    (tmp_path / "templates" / "page.html").write_text("page one")
    settings.STATICFILES_DIRS = [str(tmp_path / "static")]
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path / "templates")]}]
    return tmp_path.resolve()


@pytest.fixture
def watching(site: Path) -> Iterator[Watcher]:
    lint = route_from_setting(str(site / "templates" / "lint-*.html"), [sys.executable, "-c", LINT])
    watcher = Watcher(Layout.from_settings(), [lint])
    watcher.start()
    yield watcher
    watcher.stop()


def test_a_stylesheet_edit_reaches_the_pages_as_a_swap(watching: Watcher, site: Path) -> None:
    async def scenario() -> dict[str, object]:
        async with PageProbe() as pages:
            (site / "static" / "css" / "site.css").write_text("body { color: green }")
            return await pages.next()

    assert asyncio.run(scenario()) == {"type": "css", "urls": ["/static/css/site.css"]}


def test_a_template_edit_clears_the_template_cache_and_reloads_the_pages(watching: Watcher, site: Path) -> None:
    assert get_template("page.html").render() == "page one"  # now in the cached loader

    async def scenario() -> dict[str, object]:
        async with PageProbe() as pages:
            (site / "templates" / "page.html").write_text("page two")
            return await pages.next()

    assert asyncio.run(scenario()) == {"type": "reload", "files": [str(site / "templates" / "page.html")]}
    assert get_template("page.html").render() == "page two"


def test_editor_temporary_files_are_ignored(watching: Watcher, site: Path) -> None:
    async def scenario() -> dict[str, object]:
        async with PageProbe() as pages:
            for name in ("4913", ".page.html.swp", "page.html~", "page.html.tmp", ".hidden.html"):
                (site / "templates" / name).write_text("x")
            (site / "static" / "app.js").write_text("x")
            return await pages.next()

    assert asyncio.run(scenario()) == {"type": "reload", "files": [str(site / "static" / "app.js")]}


def test_a_failing_route_shows_its_output_instead_of_a_reload_until_it_is_fixed(watching: Watcher, site: Path) -> None:
    page = site / "templates" / "lint-me.html"

    async def scenario() -> list[dict[str, object]]:
        async with PageProbe() as pages:
            page.write_text("{{ broken")
            failed = await pages.next()
            page.write_text("{{ fixed }}")
            return [failed, await pages.next(), await pages.next()]

    failed, recovered, reload = asyncio.run(scenario())
    # Messages arrive in order: a reload sent for the broken file would come before the recovery.
    assert failed["type"] == "failures"
    assert failed["failures"] == [
        {
            "route": str(site / "templates" / "lint-*.html"),
            "output": f"lint-me.html: unclosed variable tag\n({sys.executable} -c '{LINT}' exited with 1)",
        }
    ]
    assert recovered == {"type": "failures", "failures": []}
    assert reload == {"type": "reload", "files": [str(page)]}


def test_stopping_the_watcher_stops_a_running_command(site: Path) -> None:
    pid_file = site / "pid"
    code = f"import os, time, pathlib; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(600)"
    (site / "src").mkdir()
    route = route_from_setting(str(site / "src" / "*"), [sys.executable, "-c", code])
    watcher = Watcher(Layout.from_settings(), [route])
    watcher.start()
    try:
        (site / "src" / "a.txt").write_text("x")
        wait_until(lambda: pid_file.exists() and pid_file.read_text() != "", timeout=20, what="the command started")
    finally:
        watcher.stop()
    pid = int(pid_file.read_text())
    assert watcher.thread is not None
    assert not watcher.thread.is_alive()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
