"""The reference topology of docs/deploy.md, built on this machine from network namespaces.

Each host is a network namespace with an address of its own on one bridge; the test process
stays in the root namespace, on the bridge too, where the clients (simulated feeders, owners'
live pages) are. Every name carries the test process's id, so a crashed run's leftovers never
meet the next run's, which removes them (`stale_remove`) before it starts.

    root namespace (clients, the test)  10.A.B.1 ─┐
    lb       HAProxy, deploy/haproxy.cfg  10.A.B.2 ─┤
    web1, web2   serve --role web         .11, .12 ─┤ bridge cf<pid>
    worker1      serve --role worker      .21      ─┤
    beat1, beat2 serve --role beat        .31, .32 ─┤
    data     PostgreSQL, two Redis        .40      ─┘
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

ROOT_ADDRESS = 1
HOSTS = {"lb": 2, "web1": 11, "web2": 12, "worker1": 21, "beat1": 31, "beat2": 32, "data": 40}
PREFIX = "cf"  # every namespace, veth and bridge this module makes starts with it
OWN_NAME = re.compile(rf"^{PREFIX}(\d+)-")


def ip(*args: str, check: bool = True) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if check and done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def netns_usable() -> str | None:
    """Why the topology cannot be built here, or None when it can."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    probe = f"{PREFIX}{os.getpid()}-probe"
    try:
        ip("netns", "add", probe)
    except RuntimeError as exc:
        return f"`ip netns add` is refused here: {exc}"
    ip("netns", "del", probe, check=False)
    return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def netns_kill(namespace: str, sig: int = signal.SIGKILL) -> list[int]:
    """Signal every process in the namespace; the pids signalled."""
    pids = [int(pid) for pid in ip("netns", "pids", namespace, check=False).split()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    return pids


def stale_remove() -> None:
    """Namespaces and bridges of runs whose process is gone (a crash, a kill -9 of pytest)."""
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        if (found := OWN_NAME.match(name)) and not alive(int(found.group(1))):
            netns_kill(name)
            ip("netns", "del", name, check=False)
    for line in ip("-o", "link", "show", "type", "bridge").splitlines():
        name = line.split(":")[1].strip()
        if name.startswith(f"{PREFIX}br") and name[4:].isdigit() and not alive(int(name[4:])):
            ip("link", "del", name, check=False)


def free_subnet() -> str:
    """A 10.x.y.0/24 that no interface or route of the root namespace uses: its first three octets."""
    used = ip("-4", "route") + ip("-4", "addr")
    while True:
        subnet = f"10.{random.randint(100, 250)}.{random.randint(0, 250)}"  # noqa: S311 - not a secret
        if f" {subnet}." not in used and f"\n{subnet}." not in used and not used.startswith(f"{subnet}."):
            return subnet


class Network:
    """The namespaces, their veths and the bridge. `remove()` undoes everything, in any state."""

    def __init__(self) -> None:
        self.run = str(os.getpid())
        self.subnet = free_subnet()
        self.bridge = f"{PREFIX}br{self.run}"
        self.dir = Path(tempfile.mkdtemp(prefix="cf-cluster-"))
        self.dir.chmod(0o755)  # PostgreSQL runs as its own user, its data directory in here
        self.made: list[str] = []  # namespaces made, for remove()

    def namespace(self, host: str) -> str:
        return f"{PREFIX}{self.run}-{host}"

    def address(self, host: str) -> str:
        return f"{self.subnet}.{ROOT_ADDRESS if host == 'root' else HOSTS[host]}"

    def build(self) -> None:
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.address('root')}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for index, host in enumerate(HOSTS):
            namespace = self.namespace(host)
            ip("netns", "add", namespace)
            self.made.append(namespace)
            outside = f"{PREFIX}{self.run}v{index}"  # the bridge's end, at most 15 characters
            ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            ip("link", "set", outside, "master", self.bridge, "up")
            ip("-n", namespace, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")

    def link(self, host: str, *, up: bool) -> None:
        """Cut a host off the network (its interface down: packets wait, nothing is reset) or put it back."""
        ip("-n", self.namespace(host), "link", "set", "eth0", "up" if up else "down")

    def remove(self) -> None:
        for namespace in self.made:
            netns_kill(namespace)
        for namespace in self.made:
            ip("netns", "del", namespace, check=False)  # takes its veth, and so the bridge's end, with it
        ip("link", "del", self.bridge, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
