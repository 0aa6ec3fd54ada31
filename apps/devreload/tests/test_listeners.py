from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from pytest_django.fixtures import Settings

from apps.devreload.listeners import Listener, Result, Route, glob_regex, route_from_setting
from apps.devreload.tests.conftest import MESSAGE_WAIT


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_globstar_matches_any_depth_and_a_star_stays_within_one_folder() -> None:
    regex = glob_regex("/p/assets/**/*.scss")
    assert regex.match("/p/assets/site.scss")
    assert regex.match("/p/assets/a/b/site.scss")
    assert not regex.match("/p/assets/site.css")
    assert not glob_regex("/p/assets/*.scss").match("/p/assets/a/site.scss")
    assert glob_regex("/p/icon-?.[sp][vn]g").match("/p/icon-1.svg")
    assert not glob_regex("/p/[!a]*.txt").match("/p/a.txt")


def test_a_route_watches_the_folder_before_its_first_wildcard(settings: Settings, tmp_path: Path) -> None:
    settings.BASE_DIR = tmp_path
    assert route_from_setting("assets/scss/**/*.scss", "true").root == tmp_path / "assets" / "scss"
    assert route_from_setting("assets/site.scss", "true").root == tmp_path / "assets"
    assert route_from_setting("/elsewhere/*.txt", "true").root == Path("/elsewhere")


def test_a_route_through_a_symlinked_folder_matches_the_real_paths_it_is_told_about(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    settings.BASE_DIR = tmp_path
    route = route_from_setting("link/*.scss", "true")
    assert route.root == (tmp_path / "real").resolve()
    assert route.matches((tmp_path / "real" / "site.scss").resolve())


def test_a_command_string_is_split_like_a_shell_would(settings: Settings, tmp_path: Path) -> None:
    settings.BASE_DIR = tmp_path
    route = route_from_setting("*.scss", "sass 'in put.scss' out.css")
    assert route.work == ["sass", "in put.scss", "out.css"]


@pytest.mark.parametrize("work", ["", [], [1, 2], 42, None])
def test_a_route_that_is_neither_a_command_nor_a_callable_is_refused(work: object) -> None:
    with pytest.raises(ImproperlyConfigured, match="must be a command"):
        route_from_setting("*.txt", work)


def test_the_system_check_names_a_bad_route(settings: Settings) -> None:
    settings.DEVRELOAD_ROUTES = {"*.txt": 42}
    with pytest.raises(SystemCheckError, match=r"devreload\.E001"):
        call_command("check")


def run(route: Route, paths: list[Path]) -> Result:
    return asyncio.run(route.run(paths))


def test_a_command_gets_the_changed_paths_and_its_output_goes_to_the_console(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    route = route_from_setting("/x/*", python("import os; print('got', os.environ['DEVRELOAD_CHANGED'].split())"))
    with caplog.at_level(logging.INFO, logger="apps.devreload"):
        result = run(route, [tmp_path / "a", tmp_path / "b"])
    assert result.ok
    assert f"/x/* | got ['{tmp_path / 'a'}', '{tmp_path / 'b'}']" in caplog.messages


def test_a_failing_command_fails_with_its_output_and_exit_status() -> None:
    result = run(route_from_setting("/x/*", python("print('line 3: bad'); raise SystemExit(2)")), [])
    assert not result.ok
    assert result.output.startswith("line 3: bad\n")
    assert result.output.endswith("exited with 2)")


def test_a_missing_program_fails_with_a_message() -> None:
    result = run(route_from_setting("/x/*", "no-such-program-here --flag"), [])
    assert not result.ok
    assert result.output.startswith("cannot run no-such-program-here --flag:")


def test_an_async_callable_is_awaited(tmp_path: Path) -> None:
    # execlib's router never awaited coroutine callbacks: their work silently never ran.
    async def build(paths: list[Path]) -> None:
        await asyncio.sleep(0)
        (tmp_path / "built").write_text(",".join(p.name for p in paths))

    assert run(route_from_setting("/x/*", build), [Path("/x/a")]).ok
    assert (tmp_path / "built").read_text() == "a"


def test_a_callable_that_raises_fails_with_its_traceback() -> None:
    def build(paths: list[Path]) -> None:
        raise ValueError("no such mixin: card")

    result = run(route_from_setting("/x/*", build), [])
    assert not result.ok
    assert "ValueError: no such mixin: card" in result.output


SLOW_BUILD = """
import os, pathlib, sys, time
journal, gate = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
names = sorted(pathlib.Path(p).name for p in os.environ["DEVRELOAD_CHANGED"].split())
with journal.open("a") as out:
    out.write("start " + " ".join(names) + "\\n")
deadline = time.monotonic() + 60
while not gate.exists() and time.monotonic() < deadline:
    time.sleep(0.02)
with journal.open("a") as out:
    out.write("end\\n")
"""


async def until(predicate: Callable[[], bool], timeout: float = MESSAGE_WAIT) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


def test_a_route_runs_once_at_a_time_and_once_more_for_all_changes_made_meanwhile(tmp_path: Path) -> None:
    journal, gate = tmp_path / "journal", tmp_path / "gate"
    route = route_from_setting("/x/*", [sys.executable, "-c", SLOW_BUILD, str(journal), str(gate)])
    results: list[Result] = []

    async def on_result(route: Route, paths: list[Path], result: Result) -> None:
        results.append(result)

    async def scenario() -> None:
        listener = Listener(route, on_result)
        listener.submit([Path("/x/a")])
        await until(lambda: journal.exists() and "start a" in journal.read_text())
        listener.submit([Path("/x/b")])
        listener.submit([Path("/x/c"), Path("/x/b")])
        gate.touch()
        await until(lambda: len(results) == 2)
        await listener.close()

    asyncio.run(scenario())
    assert journal.read_text().splitlines() == ["start a", "end", "start b c", "end"]
    assert all(r.ok for r in results)


def test_closing_a_listener_stops_its_running_command(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import os, time, pathlib; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(600)"
    route = route_from_setting("/x/*", python(code))

    async def on_result(route: Route, paths: list[Path], result: Result) -> None:
        raise AssertionError("a stopped run has no result")

    async def scenario() -> int:
        listener = Listener(route, on_result)
        listener.submit([Path("/x/a")])
        await until(lambda: pid_file.exists() and pid_file.read_text() != "")
        await listener.close()
        return int(pid_file.read_text())

    pid = asyncio.run(scenario())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
