"""The product's routes plus the references benchmarks compare them with."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from catfeeder.urls import urlpatterns as product_urlpatterns


def bare_json(request: HttpRequest) -> JsonResponse:
    """A stock Django JSON view: what `startproject` plus one view gives."""
    return JsonResponse({"status": "ok", "items": [{"id": n, "name": f"Feeder {n}"} for n in range(20)]})


urlpatterns = [
    path("bench/stock/bare/", bare_json),  # served by stock Django's ASGI handler (bench/asgi.py)
    path("bench/bare/", bare_json),  # the same view through the product's HTTP path
    *product_urlpatterns,
]
