"""Ops' answers on the API's behalf, in the API's own problem+json shape (apps.api.problems)."""

from __future__ import annotations

from django.http import HttpResponse

from apps.api.problems import problem_response as api_problem_response
from apps.ops.correlation import correlation_id_get


def problem_response(*, status: int, detail: str, kind: str, retry_after: int | None = None) -> HttpResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return api_problem_response(status, detail, kind=kind, headers=headers, correlation_id=correlation_id_get())
