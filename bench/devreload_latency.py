"""Live-reload latency: from a file write to the change visible in headless Chromium.

A copy of the devreload demo project is served by `manage.py runserver` (its
own embedded Redis and SQLite in a temporary directory); each round edits a
file and waits for the page to show it. Reference: a CSS edit applied within
1 s, without a navigation (what a developer expects of live reload).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from apps.devreload.tests.harness import Runserver, demo_env, demo_project, launch_chromium  # noqa: E402

ROUNDS = 15
WAIT = 20_000  # ms


def css_round(page: Page, css: Path, n: int) -> float:
    color = f"rgb({n}, 100, 0)"
    started = time.monotonic()
    css.write_text(f"#title {{ color: {color}; }}\n")
    page.wait_for_function(
        f"getComputedStyle(document.querySelector('#title')).color === '{color}'", timeout=WAIT, polling="raf"
    )
    return (time.monotonic() - started) * 1000


def template_round(page: Page, template: Path, n: int) -> float:
    text = template.read_text()
    started = time.monotonic()
    template.write_text(text.replace(f"round {n - 1}<", f"round {n}<"))
    page.wait_for_function(f"document.querySelector('#title')?.textContent === 'round {n}'", timeout=WAIT)
    page.wait_for_function("window.devreload && window.devreload.status === 'open'", timeout=WAIT)
    return (time.monotonic() - started) * 1000


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    return (
        f"{name:<28} n={len(samples):<3} median {statistics.median(samples):6.0f} ms"
        f"   p90 {p90:6.0f} ms   max {ordered[-1]:6.0f} ms"
    )


def main() -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="cf-bench-devreload-"))
    project = demo_project(run_dir)
    template = project / "templates" / "demo.html"
    template.write_text(template.read_text().replace("template one<", "round 0<"))
    base = {**os.environ, "CATFEEDER_TEST_DIR": str(run_dir / "var"), "REDIS_URL": "", "DATABASE_URL": ""}
    (run_dir / "var").mkdir()
    server = Runserver(env=demo_env(project, base), log=run_dir / "runserver.log")
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page()
            page.goto(f"{server.url}/demo/")
            page.wait_for_function("window.devreload && window.devreload.status === 'open'", timeout=WAIT)
            navigations: list[str] = []
            page.on("framenavigated", lambda frame: navigations.append(frame.url))
            css = [css_round(page, project / "static" / "css" / "demo.css", n) for n in range(1, ROUNDS + 1)]
            swapped_without_navigation = not navigations
            templates = [template_round(page, template, n) for n in range(1, ROUNDS + 1)]
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    print(summary("CSS edit -> style applied", css), "(reference: within 1000 ms)")
    print(f"{'':<28} navigations during CSS rounds: {'none' if swapped_without_navigation else navigations}")
    print(summary("template edit -> new page", templates))


if __name__ == "__main__":
    main()
