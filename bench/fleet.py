"""A fleet of feeders on one web process, beside a plain `websockets` server in the same run.

For each server, in turn: a storm of N feeders connecting at once (handshake with the
device token, `Hello`, `Welcome`), then N idle sockets held open.
- ours: the production web process (`python -m catfeeder.runtime.webserver --fd N`, as
  `manage.py serve` runs it; production settings, embedded Redis, SQLite) on /ws/device/;
- plain: bench/tools/ws_hello.py, a `websockets` server that answers each frame with a Welcome.

Figures: storm time and sockets lost (failed or closed before their Welcome: clients do
not retry); memory per idle socket as the server's RSS growth from before the storm to
after it, divided by N; idle CPU as the server's utime+stime over --idle seconds with N
sockets open and silent; for ours, /health/live and REST read (GET /api/feeders, 20
feeders) latency, sampled one after the other throughout the storm.

Targets: per socket <= 30 KB and <= 2x plain; idle CPU <= 1 % of a core; storm <= 20 s,
0 lost.

    .venv/bin/python bench/fleet.py [--sockets 10000] [--clients 4] [--idle 30]

FEEDER_OFFLINE_AFTER is raised for the run: the idle sockets send nothing, and the
measure must not end with the server closing them as silent.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import ROOT, bench_env, login, owner_create, web_servers  # noqa: E402

TOOLS = Path(__file__).resolve().parent / "tools"
PAGE = 4096  # bytes; RSS in /proc/PID/stat is in pages
TICKS = os.sysconf("SC_CLK_TCK")
SETTLE = 5  # seconds after the storm before the memory is read
STOP_WITHIN = 180  # seconds for our server to stop once the sockets are closed


@dataclass
class Result:
    storm_s: float = 0.0
    lost: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    kb_per_socket: float = 0.0
    idle_cpu_percent: float = 0.0
    still_open: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as file:
        return int(file.read().rsplit(")", 1)[1].split()[21]) * PAGE


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def fleet_create(n: int) -> list[str]:
    """N feeders of one owner, each with a device token; their secrets."""
    from apps.accounts.models import User
    from apps.feeders.models import DeviceToken, Feeder
    from apps.feeders.selectors.devices import token_hash
    from apps.feeders.services import devices as device_services
    from apps.households.services import household_create, household_for_write

    owner = User.objects.create_user(email="fleet@example.com", password="fleet-password-9")  # noqa: S106
    household = household_create(user=owner)
    feeders = Feeder.objects.bulk_create(
        Feeder(
            household=household, name=f"Fleet {i}", mac=f"F1:{i >> 16 & 255:02X}:{i >> 8 & 255:02X}:{i & 255:02X}:00:01"
        )
        for i in range(n)
    )
    tokens, rows = [], []
    for i, feeder in enumerate(feeders):
        prefix, secret = f"{i:012x}", f"fleet-secret-{i}-q8Zr4Kx1Vm"
        rows.append(DeviceToken(feeder=feeder, prefix=prefix, secret_hash=token_hash(secret)))
        tokens.append(f"cfd_{prefix}_{secret}")
    DeviceToken.objects.bulk_create(rows, batch_size=1000)
    home = household_for_write(user=User.objects.get(email="bench@example.com"), household_id=None)
    for n_feeder in range(20):  # what the REST read lists
        device_services.feeder_create(household=home, name=f"Home {n_feeder}", mac=f"F0:00:00:00:00:{n_feeder:02X}")
    return tokens


class Clients:
    """Client processes (bench/tools/fleet_client.py), each with its share of the tokens."""

    def __init__(self, url: str, tokens: list[str], processes: int, work: Path, concurrency: int = 250) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        for k in range(processes):
            path = work / f"tokens-{k}"
            path.write_text("\n".join(tokens[k::processes]))
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, str(TOOLS / "fleet_client.py"), url, str(path), f"--concurrency={concurrency}"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    cwd=ROOT,
                )  # fmt: skip
            )

    def ask(self, command: str) -> list[dict[str, object]]:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
        answers = []
        for proc in self.procs:
            assert proc.stdout is not None
            answers.append(json.loads(proc.stdout.readline()))
        return answers

    def quit(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in self.procs:
            proc.wait(60)


def sample_latency(urls: dict[str, tuple[str, dict[str, str]]], stop: threading.Event) -> dict[str, list[float]]:
    """Each URL in turn, until `stop`: milliseconds per answer (a failure counts as 10 s)."""
    found: dict[str, list[float]] = {name: [] for name in urls}

    def run() -> None:
        while not stop.is_set():
            for name, (url, headers) in urls.items():
                started = time.perf_counter()
                try:
                    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
                    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                        response.read()
                    found[name].append((time.perf_counter() - started) * 1000)
                except Exception:  # noqa: BLE001 - a failed probe is the worst latency
                    found[name].append(10_000.0)
            time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    stop.wait()
    thread.join(15)
    return found


def measure(pid: int, url: str, tokens: list[str], args: argparse.Namespace, work: Path,
            probes: dict[str, tuple[str, dict[str, str]]]) -> Result:  # fmt: skip
    result = Result()
    warm = Clients(url, tokens[:50], 1, work)  # imports and caches filled before the baseline
    warm.ask("connect")
    warm.ask("close")
    warm.quit()
    time.sleep(2)
    before = rss_bytes(pid)
    clients = Clients(url, tokens, args.clients, work, args.concurrency)
    time.sleep(1)  # the client processes have started
    stop = threading.Event()
    sampled: dict[str, list[float]] = {}
    sampler = threading.Thread(target=lambda: sampled.update(sample_latency(probes, stop)), daemon=True)
    sampler.start()
    answers = clients.ask("connect")
    stop.set()
    sampler.join(30)
    result.latencies = sampled
    result.storm_s = max(float(a["seconds"]) for a in answers)  # type: ignore[arg-type]
    result.lost = sum(int(a["lost"]) for a in answers)  # type: ignore[call-overload]
    for answer in answers:
        for name, count in answer["errors"].items():  # type: ignore[attr-defined]
            result.errors[name] = result.errors.get(name, 0) + count
    time.sleep(SETTLE)
    result.kb_per_socket = (rss_bytes(pid) - before) / len(tokens) / 1024
    cpu = cpu_seconds(pid)
    time.sleep(args.idle)
    result.idle_cpu_percent = (cpu_seconds(pid) - cpu) / args.idle * 100
    result.still_open = sum(int(a["open"]) for a in clients.ask("count"))  # type: ignore[call-overload]
    clients.ask("close")
    clients.quit()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--idle", type=int, default=30, help="seconds of idle CPU measure")
    parser.add_argument("--concurrency", type=int, default=250, help="handshakes in flight per client process")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the servers and clients

    env = {**bench_env(), "FEEDER_OFFLINE_AFTER": "3600"}
    os.environ.update(env)
    from apps.infra.embedded_redis import EmbeddedRedis
    from catfeeder.testing import free_port, http_ok, wait_until

    redis = EmbeddedRedis(Path(env["CATFEEDER_VAR_DIR"]))
    redis.start()
    owner_create()
    tokens = fleet_create(args.sockets)
    work = Path(tempfile.mkdtemp(prefix="cf-bench-fleet-"))
    loads = [os.getloadavg()[0]]
    results: dict[str, Result] = {}
    try:
        plain_port = free_port()
        plain = subprocess.Popen([sys.executable, str(TOOLS / "ws_hello.py"), str(plain_port)], cwd=ROOT)
        try:
            time.sleep(2)
            results["plain"] = measure(plain.pid, f"ws://127.0.0.1:{plain_port}/", tokens, args, work, {})
        finally:
            plain.terminate()
            plain.wait(20)
        loads.append(os.getloadavg()[0])
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        listening, web = web_servers(port, env)
        try:
            wait_until(lambda: http_ok(f"{base}/health/live"), timeout=30, what="our server")
            token = {"X-Session-Token": login(base)}
            probes = {"/health/live": (f"{base}/health/live", {}), "GET /api/feeders": (f"{base}/api/feeders", token)}
            results["ours"] = measure(web[0].pid, f"ws://127.0.0.1:{port}/ws/device/", tokens, args, work, probes)
        finally:
            for server in web:  # closing 10,000 sockets records 10,000 feeders offline: give it time
                server.terminate()
                try:
                    server.wait(STOP_WITHIN)
                except subprocess.TimeoutExpired:
                    server.kill()
            for sock in listening:
                sock.close()
        loads.append(os.getloadavg()[0])
    finally:
        redis.stop()
        shutil.rmtree(env["CATFEEDER_VAR_DIR"], ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    report(args, results, loads)


def report(args: argparse.Namespace, results: dict[str, Result], loads: list[float]) -> None:
    n = args.sockets
    print(f"fleet: {n} device sockets, {args.clients} client processes, idle CPU over {args.idle} s")
    print(f"load average (1 min) before, between and after: {', '.join(f'{x:.2f}' for x in loads)} (2 cores)")
    print(f"{'server':<42} {'storm s':>8} {'lost':>5} {'KB/socket':>10} {'idle CPU %':>11} {'open after':>11}")
    labels = {"plain": "plain websockets (ws_hello.py)", "ours": "ours: /ws/device/, token + Hello/Welcome"}
    for name, r in results.items():
        print(f"{labels[name]:<42} {r.storm_s:>8.1f} {r.lost:>5} {r.kb_per_socket:>10.1f} "
              f"{r.idle_cpu_percent:>11.2f} {r.still_open:>11}")  # fmt: skip
        if r.errors:
            print(f"  lost by kind: {r.errors}")
    for name, values in results["ours"].latencies.items():
        if values:
            values = sorted(values)
            p99 = values[min(len(values) - 1, int(0.99 * (len(values) - 1)))]
            print(f"during our storm, {name}: {len(values)} requests, p50 {statistics.median(values):.0f} ms, "
                  f"p99 {p99:.0f} ms, max {values[-1]:.0f} ms")  # fmt: skip
    ours, plain = results["ours"], results["plain"]
    ratio = ours.kb_per_socket / plain.kb_per_socket if plain.kb_per_socket > 0 else float("inf")
    memory_met = ours.kb_per_socket <= 30 and ratio <= 2
    print(f"memory: {ours.kb_per_socket:.1f} KB/socket, {ratio:.2f}x plain (target <= 30 KB and <= 2x: "
          f"{'met' if memory_met else 'NOT met'})")  # fmt: skip
    print(f"idle CPU: {ours.idle_cpu_percent:.2f} % of a core (target <= 1 %: "
          f"{'met' if ours.idle_cpu_percent <= 1 else 'NOT met'})")  # fmt: skip
    storm_met = ours.storm_s <= 20 and ours.lost == 0 and ours.still_open == n
    print(f"storm: {ours.storm_s:.1f} s, {ours.lost} lost, {ours.still_open}/{n} open after the idle measure "
          f"(target <= 20 s, 0 lost: {'met' if storm_met else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
