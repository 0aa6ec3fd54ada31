"""RFC 9457 problem details, for the answers ops gives on behalf of the API."""

from __future__ import annotations

import json

from django.http import HttpResponse

CONTENT_TYPE = "application/problem+json"


def problem_response(
    *, status: int, title: str, detail: str, type_: str, retry_after: int | None = None
) -> HttpResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail}
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
