"""`/metrics` in the Prometheus text format (0.0.4), written by hand: a few dozen lines.

Everything comes from the registry: check results, the web instances'
heartbeats (request counts and latency histograms, sockets, in flight) and
the broker's queue lengths. So any instance answers for the whole system,
and a scrape never depends on which instance the load balancer picked.

Other apps add their own families with `metrics_register`; feedings by
status (feed commands per status) are registered here, by model name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from apps.ops.health import CheckResult, Status
from apps.ops.instance import LATENCY_BUCKETS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
logger = logging.getLogger(__name__)


@dataclass
class Family:
    name: str
    kind: str  # gauge, counter, histogram
    help: str
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, suffix: str = "", **labels: str) -> Family:
        self.samples.append((suffix, labels, value))
        return self


MetricsSource = Callable[[], Iterable[Family]]
_sources: dict[str, MetricsSource] = {}


def metrics_register(name: str, source: MetricsSource) -> None:
    """Add (or replace) a source of metric families; it is called at every scrape."""
    _sources[name] = source


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def render(families: Iterable[Family]) -> str:
    lines = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for suffix, labels, value in family.samples:
            text = ",".join(f'{key}="{_escape(str(val))}"' for key, val in labels.items())
            lines.append(f"{family.name}{suffix}{{{text}}} {_number(value)}" if text else
                         f"{family.name}{suffix} {_number(value)}")  # fmt: skip
    return "\n".join(lines) + "\n"


def check_families(results: list[CheckResult]) -> list[Family]:
    status = Family("catfeeder_check_status", "gauge", "1 for the status each service is in (ok, degraded, down).")
    latency = Family("catfeeder_check_latency_seconds", "gauge", "How long the last check of each service took.")
    critical = Family("catfeeder_check_critical", "gauge", "1 when the service decides readiness.")
    for result in results:
        for each in Status:
            status.add(1 if result.status is each else 0, service=result.name, status=each.value)
        latency.add(round(result.latency_ms / 1000, 6), service=result.name)
        critical.add(1 if result.critical else 0, service=result.name)
    families = [status, latency, critical]
    by_name = {r.name: r for r in results}
    if "broker" in by_name and by_name["broker"].data.get("queues") is not None:
        queues = Family("catfeeder_queue_length", "gauge", "Tasks waiting in each broker queue.")
        for queue, length in by_name["broker"].data["queues"].items():
            queues.add(length, queue=queue)
        families.append(queues)
    if "workers" in by_name:
        workers = Family("catfeeder_worker_active_tasks", "gauge", "Tasks running on each answering worker.")
        for component in by_name["workers"].components:
            if component.status is Status.OK:
                workers.add(len(component.data.get("active", [])), worker=component.name)
        families.append(workers)
    if "beat" in by_name and by_name["beat"].data.get("tick_age") is not None:
        families.append(Family("catfeeder_beat_tick_age_seconds", "gauge", "Seconds since beat's last heartbeat.")
                        .add(by_name["beat"].data["tick_age"]))  # fmt: skip
    return families


def web_families(instances: list[dict[str, object]]) -> list[Family]:
    requests = Family("catfeeder_http_requests_total", "counter", "HTTP requests answered, per instance.")
    duration = Family("catfeeder_http_request_duration_seconds", "histogram", "HTTP request durations.")
    sockets = Family("catfeeder_websockets_open", "gauge", "Open WebSockets per web instance.")
    in_flight = Family("catfeeder_http_requests_in_flight", "gauge", "HTTP requests being answered now.")
    draining = Family("catfeeder_web_draining", "gauge", "1 while a web instance drains.")
    for item in instances:
        if item.get("state") not in ("running", "draining"):
            continue
        name = str(item["id"])
        sockets.add(float(item["sockets"]), instance=name)  # type: ignore[arg-type]
        in_flight.add(float(item["in_flight"]), instance=name)  # type: ignore[arg-type]
        draining.add(1 if item.get("draining") else 0, instance=name)
        buckets = [0] * len(LATENCY_BUCKETS)
        count, total = 0, 0.0
        for row in item.get("requests", []):  # type: ignore[attr-defined]
            requests.add(row["count"], instance=name, method=row["method"], status=str(row["status"]))
            buckets = [a + b for a, b in zip(buckets, row["buckets"], strict=True)]
            count, total = count + row["count"], total + row["seconds"]
        for bound, n in zip(LATENCY_BUCKETS, buckets, strict=True):
            duration.add(n, "_bucket", instance=name, le=_number(bound))
        duration.add(count, "_bucket", instance=name, le="+Inf")
        duration.add(total, "_sum", instance=name)
        duration.add(count, "_count", instance=name)
    return [requests, duration, sockets, in_flight, draining]


def metrics_collect(*, results: list[CheckResult], instances: list[dict[str, object]]) -> list[Family]:
    families = check_families(results) + web_families(instances)
    for name, source in _sources.items():
        try:
            families.extend(source())
        except Exception as exc:  # noqa: BLE001 - one failing source (database down) must not hide the rest
            logger.warning("metrics source %s failed: %s", name, exc)
    return families


def feed_commands_family() -> list[Family]:
    """Feedings by status: feed commands counted per status (one GROUP BY)."""
    from django.apps import apps
    from django.db.models import Count

    if not apps.is_installed("apps.feeders"):
        return []
    model = apps.get_model("feeders", "FeedCommand")  # by name: ops does not depend on the domain's code
    family = Family("catfeeder_feed_commands", "gauge", "Feed commands (feedings) by status.")
    for row in model.objects.values("status").annotate(n=Count("id")).order_by("status"):
        family.add(row["n"], status=row["status"])
    return [family]
