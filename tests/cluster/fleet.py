"""The clients of the cluster: simulated feeders, an owner's live page, and the operator's agent."""

from __future__ import annotations

import collections
import json
import re
import ssl
import subprocess
import sys
import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from catfeeder.testing import BASE_DIR
from tests.cluster.cluster import Cluster

OWNER = "cluster-owner@example.com"
DISPENSED = re.compile(r" dispensed\s+\d+ g for command (\d+)")
AGENT_WAIT = 120.0  # seconds for one answer: a service call on a loaded machine


class Agent:
    """`tests.cluster.agent` in the root namespace, on the cluster's database and Redis."""

    def __init__(self, cluster: Cluster) -> None:
        argv = [sys.executable, "-m", "tests.cluster.agent"]
        self.log = cluster.dir / "agent.log"
        with open(self.log, "ab") as err:
            self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                                          env=cluster.env(), cwd=BASE_DIR)  # fmt: skip
        self.lock = threading.Lock()
        self.answer()  # {"ready": true} once Django is set up

    def answer(self) -> Any:
        assert self.popen.stdout is not None
        line = self.popen.stdout.readline()
        if not line:
            raise RuntimeError(f"the agent exited:\n{self.log.read_text()[-3000:]}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"agent: {reply['error']}")
        return reply.get("result")

    def __call__(self, call: str, **args: Any) -> Any:
        assert self.popen.stdin is not None
        with self.lock:
            self.popen.stdin.write(json.dumps({"call": call, "args": args}) + "\n")
            self.popen.stdin.flush()
            return self.answer()

    def stop(self) -> None:
        self.popen.kill()
        self.popen.wait()


class Feeders:
    """`manage.py simulate_feeders` through the balancer: pair, say hello, heartbeat, obey FeedNow."""

    def __init__(self, cluster: Cluster, count: int) -> None:
        self.count = count
        argv = [sys.executable, "manage.py", "simulate_feeders", "--count", str(count), "--url", cluster.ws_url,
                "--owner", OWNER, "--heartbeat", "10", "--visit-every", "3600", "--eat-grams", "0"]  # fmt: skip
        self.log = cluster.dir / "feeders.log"
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=cluster.env(), cwd=BASE_DIR)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def dispensed(self) -> collections.Counter[int]:
        """How often the devices dispensed each command (a repeat of a FeedNow is answered, not dispensed)."""
        return collections.Counter(int(n) for n in DISPENSED.findall(self.output()))

    def running(self) -> bool:
        if self.popen.poll() is not None:
            raise RuntimeError(f"the simulated feeders exited:\n{self.output()[-3000:]}")
        return True

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class LivePage:
    """An owner's live page: a socket to /ws/app/ through the balancer, opened again whenever it closes
    (as the page's script does), collecting every CommandStatus pushed."""

    def __init__(self, cluster: Cluster, token: str) -> None:
        self.url, self.token = f"{cluster.ws_url}/ws/app/", token
        self.tls = ssl.create_default_context(cafile=cluster.certificate)  # the balancer's own certificate
        self.statuses: dict[int, set[str]] = collections.defaultdict(set)
        self.connections = 0
        self.last_error = ""  # why the last connection failed or closed, for a failure message
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                headers = {"X-Session-Token": self.token}
                with connect(self.url, additional_headers=headers, ssl=self.tls, open_timeout=10) as ws:
                    self.connections += 1
                    self.listen(ws)
            except (OSError, ConnectionClosed, InvalidStatus) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                time.sleep(0.5)

    def listen(self, ws: ClientConnection) -> None:
        while not self.stopping.is_set():
            try:
                text = ws.recv(timeout=1)
            except TimeoutError:  # only to look at `stopping` again
                continue
            self.take(json.loads(text))

    def take(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "CommandStatus":
            self.statuses[int(frame["command_id"])].add(frame["status"])

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=15)
