"""docs/walkthrough.md, run: its shell commands in order against a live server, each answer checked.

Each ```sh block of the page is a step; the ```text block right after it is the
answer the step prints (a step without one prints nothing). The steps run in
one bash, as a reader's terminal would keep its variables, from a folder that
looks like the project's (manage.py, .venv/bin/python, and var/ being this
run's own, where the mail worker writes its files).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from catfeeder.testing import BASE_DIR, AsgiServer, CeleryWorker, process_env

pytestmark = pytest.mark.xdist_group("walkthrough")  # a server and a mail worker of its own, set up once

DOC = BASE_DIR / "docs" / "walkthrough.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
MARK = "@@walkthrough step {} done@@"
RUN_TIMEOUT = 300  # seconds for the whole page: its waits loop until the answer comes


@dataclass
class Step:
    command: str
    expected: str


def steps(markdown: str) -> list[Step]:
    blocks = [(match.group(1), match.group(2)) for match in BLOCK.finditer(markdown)]
    found: list[Step] = []
    for i, (language, body) in enumerate(blocks):
        if language == "text":
            assert i > 0, f"an answer before any command:\n{body}"
            assert blocks[i - 1][0] == "sh", f"an answer that follows no command:\n{body}"
        elif language == "sh":
            after = blocks[i + 1] if i + 1 < len(blocks) else ("", "")
            found.append(Step(body, after[1] if after[0] == "text" else ""))
    return found


def script(all_steps: list[Step]) -> str:
    lines = ["set -euo pipefail"]
    for n, step in enumerate(all_steps):
        lines += [step.command, f"echo '{MARK.format(n)}'"]
    return "\n".join(lines) + "\n"


def answers(stdout: str, count: int) -> list[str]:
    """What each step printed, up to the last step that finished."""
    found, rest = [], stdout
    for n in range(count):
        mark = MARK.format(n) + "\n"
        if mark not in rest:
            break
        printed, rest = rest.split(mark, 1)
        found.append(printed)
    return found


def project_lookalike(folder: Path) -> Path:
    """A folder where the page's relative paths work, with var/ being this test run's."""
    (folder / "manage.py").symlink_to(BASE_DIR / "manage.py")  # Python resolves it: the project's on sys.path
    (folder / "var").symlink_to(settings.VAR_DIR)
    python = folder / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def _server(django_db_setup: None, process_logs: Path) -> Iterator[AsgiServer]:
    """A server whose mail goes to a worker of its own that writes files in var/mail, as in development."""
    queue = f"walkthrough-{uuid.uuid4().hex[:8]}"
    env = process_env(EMAIL_QUEUE=queue)
    env.pop("EMAIL_URL", None)
    mail_worker = CeleryWorker(env=env, log_dir=process_logs, queues=[queue])
    server = AsgiServer(env=env, log_dir=process_logs)
    yield server
    server.stop()
    mail_worker.stop()


@pytest.fixture
def server(_server: AsgiServer, celery_worker: CeleryWorker) -> AsgiServer:
    """The page's server; Feed now goes through the shared worker, the mail through the server's own."""
    _server.check_alive()
    return _server


def test_the_walkthrough_runs_as_written(server: AsgiServer, tmp_path: Path) -> None:
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    assert not missing, f"the walkthrough's commands need {missing} (Debian: apt-get install curl jq)"
    all_steps = steps(DOC.read_text())
    assert len(all_steps) >= 8
    env = {**process_env(), "CF": server.url}
    run = subprocess.Popen(
        ["bash", "-c", script(all_steps)],
        cwd=project_lookalike(tmp_path),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the simulator it starts in the background is in this group, stopped below
    )
    try:
        stdout, stderr = run.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        stdout, stderr = run.communicate()
    finally:
        # Whatever the page left running (its last step stops the simulator, unless a step failed first).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
    printed = answers(stdout, len(all_steps))
    for n, (step, answer) in enumerate(zip(all_steps, printed, strict=False)):
        assert answer.strip() == step.expected.strip(), f"step {n}:\n{step.command}"
    log = Path(settings.VAR_DIR) / "simulator.log"
    simulator = log.read_text() if log.exists() else "(none)"
    assert len(printed) == len(all_steps), (
        f"step {len(printed)} failed:\n{all_steps[len(printed)].command}\n"
        f"stderr:\n{stderr}\nstdout:\n{stdout}\nsimulator:\n{simulator}"
    )
