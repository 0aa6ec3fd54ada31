from __future__ import annotations

import io
import sys
import time

from catfeeder.runtime.supervisor import ChildSpec, Supervisor


def test_a_child_that_keeps_dying_is_restarted_with_doubling_backoff() -> None:
    out = io.StringIO()
    spec = ChildSpec("flaky", [sys.executable, "-c", "print('up'); raise SystemExit(3)"], stop_stage=1, stop_timeout=1)
    supervisor = Supervisor([spec], env={}, out=out)
    child = supervisor.children[0]

    supervisor._spawn(child)
    child.process.wait(10)
    now = time.monotonic()
    supervisor._watch(child, now)
    assert child.restart_at == now + 1
    supervisor._watch(child, now + 0.5)
    assert child.restarts == 0  # not yet due

    supervisor._watch(child, now + 1)
    assert child.restarts == 1
    child.process.wait(10)
    supervisor._watch(child, now + 1.1)
    assert child.restart_at == now + 1.1 + 2
    assert child.backoff == 4
    child.pump.join(5)
    assert "flaky | up" in out.getvalue()
    assert "flaky exited (exit 3); restarting in 2s" in out.getvalue()


def test_children_stop_stage_by_stage() -> None:
    out = io.StringIO()
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    specs = [ChildSpec("last", sleeper, stop_stage=2, stop_timeout=5), ChildSpec("first", sleeper, 1, 5)]
    supervisor = Supervisor(specs, env={}, out=out)
    for child in supervisor.children:
        supervisor._spawn(child)

    assert supervisor._stop_all() is True
    lines = out.getvalue().splitlines()
    stopped = [line.split("| ")[1].split()[0] for line in lines if "stopped (SIGTERM)" in line]
    assert stopped == ["first", "last"]
