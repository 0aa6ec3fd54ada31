"""Real processes and a real browser for devreload's tests and its benchmark.

A copy of demo_project/ is served by `manage.py runserver` (or `serve
--reload`) with demo_settings; tests and the benchmark edit the copy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from catfeeder.testing import BASE_DIR, free_port, http_ok, wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

DEMO_SOURCE = Path(__file__).parent / "demo_project"
CHROMIUM = "/usr/bin/chromium"  # Debian's package: `make browser` installs it
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
EXPECT_TIMEOUT = 30_000  # ms


def demo_project(into: Path) -> Path:
    """A fresh copy of the demo project, to be served and edited."""
    return Path(shutil.copytree(DEMO_SOURCE, into / "demo"))


def demo_env(project: Path, base: dict[str, str]) -> dict[str, str]:
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "apps.devreload.tests.demo_settings",
        "DEVRELOAD_DEMO_DIR": str(project),
        "PYTHONPATH": os.pathsep.join(p for p in (str(project), base.get("PYTHONPATH", "")) if p),
        # An edit within the same second and of the same size must not load a stale .pyc.
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def default_sigint() -> None:
    # A shell's background job ignores SIGINT, and exec keeps that: undo it so
    # that our Ctrl-C (SIGINT to the group) reaches the server.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class ServerGroup:
    """A development server in a process group of its own, stopped like a Ctrl-C in its terminal."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], log: Path, ready_path: str) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.popen = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=BASE_DIR,
                start_new_session=True, preexec_fn=default_sigint,
            )  # fmt: skip
        try:
            wait_until(lambda: self.alive() and http_ok(self.url + ready_path), timeout=60, what=f"{name} answering")
        except (TimeoutError, RuntimeError):
            self.stop()
            raise RuntimeError(f"{name} did not start:\n{self.output()}") from None
        self.answering_since = time.monotonic()

    url = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        if self.popen.poll() is not None:
            raise RuntimeError(f"exited with {self.popen.returncode}:\n{self.output()}")
        return True

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        # Whatever the group left behind (it should be nothing) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        return self.popen.returncode


class Runserver(ServerGroup):
    """`manage.py runserver` with its autoreloader, serving the demo project."""

    def __init__(self, *, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}"]
        super().__init__("runserver", argv, env=env, log=log, ready_path="/demo/")


class ServeReload(ServerGroup):
    """`manage.py serve --reload`: web (uvicorn reloading), worker, beat, Redis."""

    def __init__(self, *, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "manage.py", "serve", "--reload", "--port", str(self.port), "--concurrency", "1"]
        super().__init__("serve --reload", argv, env=env, log=log, ready_path="/demo/")


def launch_chromium(playwright: Playwright) -> Browser:
    # Assertions wait as long as actions may: in a full parallel run on 2 CPUs a form's post, its
    # redirect and the next page took over expect()'s default 5 s.
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT)
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium package")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_for_text(log: Path, text: str, *, timeout: float, after: int = 0) -> None:
    """Wait until `text` appears in a log file past offset `after`."""
    wait_until(lambda: text in log.read_text(errors="replace")[after:], timeout=timeout, what=f"{text!r} in {log}")
