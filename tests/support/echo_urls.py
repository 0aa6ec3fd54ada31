"""One view that answers how many body bytes Django read, for tests of the body limits."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from catfeeder.urls import urlpatterns as product_urlpatterns


@csrf_exempt
def echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.body, content_type="application/octet-stream")


urlpatterns = [path("echo/", echo), *product_urlpatterns]
