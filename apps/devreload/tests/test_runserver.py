"""`manage.py runserver` with live reload: the watcher's life follows the server's."""

from __future__ import annotations

from pathlib import Path

import psutil

from apps.devreload.tests.harness import Runserver, demo_env, demo_project, edit
from catfeeder.testing import process_env, wait_until


def gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_ctrl_c_stops_the_server_the_watcher_and_a_running_listener_command(
    django_db_setup: None, tmp_path: Path
) -> None:
    project = demo_project(tmp_path)
    server = Runserver(env=demo_env(project, process_env()), log=tmp_path / "runserver.log")
    try:
        assert "watching" in server.output()
        edit(project / "slow" / "start.txt", "Editing", "Edited")
        pid_file = project / "slow" / "pid"
        wait_until(lambda: pid_file.exists() and pid_file.read_text() != "", timeout=20, what="the command started")
        command = int(pid_file.read_text())
        processes = [server.popen.pid, *(p.pid for p in psutil.Process(server.popen.pid).children(recursive=True))]
        assert command in processes or psutil.Process(command).ppid() in processes
    finally:
        code = server.stop()  # SIGINT to the process group, as Ctrl-C in a terminal
    assert code == 0, server.output()
    wait_until(lambda: all(gone(pid) for pid in [*processes, command]), timeout=10, what="every process gone")
