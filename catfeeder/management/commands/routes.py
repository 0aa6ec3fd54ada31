from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand
from django.urls import URLPattern, URLResolver, get_resolver

from apps.api.api import api
from catfeeder.routing import websocket_urlpatterns


def http_routes(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, name) for every Django URL pattern, depth first."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from http_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield "/" + route.lstrip("^").rstrip("$"), entry.name or ""


def api_operations() -> Iterator[tuple[str, str, str, str]]:
    """(METHOD, path, operation, auth) for every REST operation, from the OpenAPI document."""
    for path, operations in api.get_openapi_schema()["paths"].items():
        for method, operation in operations.items():
            schemes = sorted({name for entry in operation.get("security", []) for name in entry})
            yield method.upper(), path, operation.get("operationId", ""), " or ".join(schemes) or "public"


class Command(BaseCommand):
    help = "List every HTTP route (method, path, name, auth) and WebSocket route."

    def handle(self, *args: Any, **options: Any) -> None:
        rows = list(api_operations())
        api_prefix = "/api/"
        rows += [("*", path, name, "per view") for path, name in http_routes() if not path.startswith(api_prefix)]
        width = max(len(r[1]) for r in rows)
        for method, path, name, auth in rows:
            self.stdout.write(f"{method:<7} {path:<{width}}  {name:<32} {auth}")
        for pattern in websocket_urlpatterns:
            self.stdout.write(f"{'WS':<7} /{pattern.pattern}  {pattern.name or ''}")
        self.stdout.write(f"{len(rows)} HTTP routes, {len(websocket_urlpatterns)} WebSocket routes")
