"""`/metrics` through prometheus_client, in its multiprocess mode under `manage.py serve`.

Two kinds of figures:

- Counted where they happen: HTTP requests (web processes) and tasks (Celery
  workers). Under `manage.py serve` the supervisor gives every child one
  PROMETHEUS_MULTIPROC_DIR, each process writes its counts there, and a scrape
  of any web process adds up every process of the host (MultiProcessCollector).
  Without that directory (tests, runserver) this process's default registry is read.
- Read at scrape time, for the whole system: check results, the web instances'
  sockets, in-flight requests and drain state from their registry heartbeats,
  the broker's queue lengths, and the families other apps add with
  `metrics_register` (feed commands per status is registered here, by model name).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator

from django.apps import apps
from django.db.models import Count
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from apps.ops.health import CheckResult, Status

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # generate_latest writes the classic text format
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable, read when it is imported
logger = logging.getLogger(__name__)

# Upper bounds of the request duration histogram, in seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Counters keep a dead process's counts in the directory: a total never goes back when a web
# process restarts. `instance` is the web process (WebInstance.id), as before this module used
# prometheus_client; sum over it for the host.
HTTP_REQUESTS = Counter(
    "catfeeder_http_requests", "HTTP requests answered, per instance.", ["instance", "method", "status"]
)
HTTP_DURATION = Histogram(
    "catfeeder_http_request_duration_seconds", "HTTP request durations.", ["instance"], buckets=LATENCY_BUCKETS
)
TASKS = Counter("catfeeder_celery_tasks", "Celery tasks finished, by task and final state.", ["task", "state"])


def http_request_observe(*, instance: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(instance=instance, method=method, status=str(status)).inc()
    HTTP_DURATION.labels(instance=instance).observe(seconds)


def task_observe(*, task: str, state: str) -> None:
    TASKS.labels(task=task, state=state).inc()


MetricsSource = Callable[[], Iterable[Metric]]
_sources: dict[str, MetricsSource] = {}


def metrics_register(name: str, source: MetricsSource) -> None:
    """Add (or replace) a source of metric families; it is called at every scrape."""
    _sources[name] = source


def _gauge(name: str, documentation: str, *labels: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


def check_families(results: list[CheckResult]) -> list[Metric]:
    status = _gauge(
        "catfeeder_check_status", "1 for the status each service is in (ok, degraded, down).", "service", "status"
    )
    latency = _gauge("catfeeder_check_latency_seconds", "How long the last check of each service took.", "service")
    critical = _gauge("catfeeder_check_critical", "1 when the service decides readiness.", "service")
    for result in results:
        for each in Status:
            status.add_metric([result.name, each.value], 1 if result.status is each else 0)
        latency.add_metric([result.name], round(result.latency_ms / 1000, 6))
        critical.add_metric([result.name], 1 if result.critical else 0)
    families: list[Metric] = [status, latency, critical]
    by_name = {r.name: r for r in results}
    if "broker" in by_name and by_name["broker"].data.get("queues") is not None:
        queues = _gauge("catfeeder_queue_length", "Tasks waiting in each broker queue.", "queue")
        for queue, length in by_name["broker"].data["queues"].items():
            queues.add_metric([queue], length)
        families.append(queues)
    if "workers" in by_name:
        workers = _gauge("catfeeder_worker_active_tasks", "Tasks running on each answering worker.", "worker")
        for component in by_name["workers"].components:
            if component.status is Status.OK:
                workers.add_metric([component.name], len(component.data.get("active", [])))
        families.append(workers)
    if "beat" in by_name and by_name["beat"].data.get("tick_age") is not None:
        age = _gauge("catfeeder_beat_tick_age_seconds", "Seconds since beat's last heartbeat.")
        families.append(age)
        age.add_metric([], by_name["beat"].data["tick_age"])
    return families


def web_families(instances: list[dict[str, object]]) -> list[Metric]:
    """What the web instances' heartbeats say now: a gauge is a state, so it comes from the registry."""
    sockets = _gauge("catfeeder_websockets_open", "Open WebSockets per web instance.", "instance")
    in_flight = _gauge("catfeeder_http_requests_in_flight", "HTTP requests being answered now.", "instance")
    draining = _gauge("catfeeder_web_draining", "1 while a web instance drains.", "instance")
    for item in instances:
        if item.get("state") not in ("running", "draining"):
            continue
        name = str(item["id"])
        sockets.add_metric([name], float(item["sockets"]))  # type: ignore[arg-type]
        in_flight.add_metric([name], float(item["in_flight"]))  # type: ignore[arg-type]
        draining.add_metric([name], 1 if item.get("draining") else 0)
    return [sockets, in_flight, draining]


class SystemCollector:
    """The scrape-time families: checks, web instances, and every registered source."""

    def __init__(self, *, results: list[CheckResult], instances: list[dict[str, object]]) -> None:
        self.results, self.instances = results, instances

    def collect(self) -> Iterator[Metric]:
        yield from check_families(self.results)
        yield from web_families(self.instances)
        for name, source in _sources.items():
            try:
                families = list(source())
            except Exception as exc:  # noqa: BLE001 - one failing source (database down) must not hide the rest
                logger.warning("metrics source %s failed: %s", name, exc)
                continue
            yield from families


class MultiprocessDir:
    """Where the supervised processes write their counts: empty at the start of every run.

    The operator's PROMETHEUS_MULTIPROC_DIR when set (emptied: counts of a previous run would
    add up with this one's), else a temporary directory of this run, removed at its end.
    """

    def __init__(self, given: str | None) -> None:
        self.owned = not given
        self.path = given or tempfile.mkdtemp(prefix="catfeeder-metrics-")
        os.makedirs(self.path, exist_ok=True)
        for name in os.listdir(self.path):
            if name.endswith(".db"):  # only prometheus_client's files, whatever else lives there
                os.remove(os.path.join(self.path, name))

    def process_dead(self, pid: int) -> None:
        """Drop a dead process's live gauges; its counters stay, so totals never go back."""
        multiprocess.mark_process_dead(pid, self.path)  # type: ignore[no-untyped-call]  # untyped upstream

    def close(self) -> None:
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)


def metrics_render(*, results: list[CheckResult], instances: list[dict[str, object]]) -> bytes:
    """One scrape: every process's counts (or this process's alone), then the system's state."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
    else:
        registry.register(REGISTRY)  # not under the supervisor: this process is the only one counting
    registry.register(SystemCollector(results=results, instances=instances))
    return generate_latest(registry)


def feed_commands_family() -> list[Metric]:
    """Feedings by status: feed commands counted per status (one GROUP BY)."""
    if not apps.is_installed("apps.feeders"):
        return []
    model = apps.get_model("feeders", "FeedCommand")  # by name: ops does not depend on the domain's code
    family = _gauge("catfeeder_feed_commands", "Feed commands (feedings) by status.", "status")
    for row in model.objects.values("status").annotate(n=Count("id")).order_by("status"):
        family.add_metric([row["status"]], row["n"])
    return [family]
