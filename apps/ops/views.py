from __future__ import annotations

import hmac
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from redis import RedisError

from apps.ops.health import overall_status
from apps.ops.instance import current_instance
from apps.ops.metrics import CONTENT_TYPE, metrics_render
from apps.ops.problem import problem_response
from apps.ops.readiness import READY_MAX_AGE, readiness_get, readiness_shared
from apps.ops.reports import health_json, health_run
from apps.ops.selectors import maintenance_get, web_instances_list
from apps.ops.services import worker_ping_enqueue

logger = logging.getLogger(__name__)

HEALTH_JSON = "application/health+json"


def _has_token(request: HttpRequest) -> bool:
    token = settings.OPS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def _may_see_details(request: HttpRequest) -> bool:
    """Check details and metrics are open in development; in production they need a token or staff."""
    if settings.DEBUG or _has_token(request):
        return True
    user = await request.auser()
    return bool(user.is_active and user.is_staff)


@require_GET
def health_live(request: HttpRequest) -> JsonResponse:
    """The process is up and serving: no dependency is consulted."""
    return JsonResponse({"status": "pass", "version": settings.CATFEEDER_VERSION})


@require_GET
async def health_ready(request: HttpRequest) -> JsonResponse:
    """503 while this instance drains or a critical dependency is down; maintenance only refuses writes.

    Storage and mail are checked in the background (never waited on here). Down,
    they are reasons like the rest, unless OPS_READY_SHARED is "warn": then they
    are listed under `warnings` and the instance stays in service; a degraded
    one is always only a warning.
    """
    instance = current_instance()
    reasons = [f"draining ({instance.drain_reason})"] if instance.draining else []
    if not reasons:
        run = await sync_to_async(readiness_get, thread_sensitive=False)(wait=True, max_age=READY_MAX_AGE)
        reasons = [f"{name} down" for name in run.critical_down]
    shared = readiness_shared()
    if settings.OPS_READY_SHARED == "fail":
        reasons, warnings = reasons + shared.down, shared.degraded
    else:
        warnings = shared.down + shared.degraded
    body = {
        "status": "fail" if reasons else "warn" if warnings else "pass",
        "reasons": reasons,
        "warnings": warnings,
        "maintenance": (await sync_to_async(maintenance_get, thread_sensitive=False)()).enabled,
    }
    return JsonResponse(body, status=503 if reasons else 200)


@require_GET
async def health(request: HttpRequest) -> HttpResponse:
    """All checks in the health+json shape; only the overall status without a token or staff in production."""
    results = await sync_to_async(health_run, thread_sensitive=False)()
    status = overall_status(results)
    if await _may_see_details(request):
        body = health_json(results, instance_id=current_instance().id)
    else:
        body = {"status": status.health_json, "version": settings.CATFEEDER_VERSION}
    return JsonResponse(body, status=503 if status.health_json == "fail" else 200, content_type=HEALTH_JSON)


@require_GET
async def metrics(request: HttpRequest) -> HttpResponse:
    if not await _may_see_details(request):
        return HttpResponse("a token or a staff login is needed\n", status=401, content_type="text/plain")

    def collect() -> bytes:
        return metrics_render(results=health_run(record=False), instances=_instances_or_none())

    text = await sync_to_async(collect, thread_sensitive=False)()
    return HttpResponse(text, content_type=CONTENT_TYPE)


def _instances_or_none() -> list[dict[str, object]]:
    try:
        return web_instances_list()
    except RedisError as exc:  # Redis down: the web families are empty, the rest stands
        logger.warning("web instances unavailable for metrics: %s", exc)
        return []


def _csrf_ok(request: HttpRequest) -> bool:
    check = CsrfViewMiddleware(lambda r: HttpResponse())
    check.process_request(request)
    return check.process_view(request, lambda r: HttpResponse(), (), {}) is None


@csrf_exempt  # bearer-token callers have no CSRF token; session callers are checked below
@require_POST
def worker_ping(request: HttpRequest) -> HttpResponse:
    """Enqueue a ping task for the workers (a write that needs the queue); 202 with the task id."""
    if not _has_token(request):
        if not (request.user.is_active and request.user.is_staff):
            return problem_response(status=403, detail="staff only", kind="forbidden")
        if not _csrf_ok(request):
            return problem_response(status=403, detail="CSRF check failed", kind="csrf")
    try:
        task_id = worker_ping_enqueue()
    except Exception as exc:  # noqa: BLE001 - any broker failure: refuse clearly, store nothing
        logger.warning("ping not enqueued: %s", exc)
        return problem_response(
            status=503,
            detail="The task queue is unavailable; nothing was queued. Try again shortly.",
            kind="dependency-unavailable",
            retry_after=30,
        )
    return JsonResponse({"task_id": task_id}, status=202)
