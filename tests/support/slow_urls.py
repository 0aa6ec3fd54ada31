from __future__ import annotations

import time

from django.http import HttpRequest, JsonResponse
from django.urls import path

from catfeeder.urls import urlpatterns as product_urlpatterns

MAX_SLEEP = 30.0  # seconds


def slow(request: HttpRequest) -> JsonResponse:
    seconds = min(float(request.GET.get("seconds", "1")), MAX_SLEEP)
    time.sleep(seconds)
    return JsonResponse({"slept": seconds})


urlpatterns = [path("test/slow/", slow), *product_urlpatterns]
