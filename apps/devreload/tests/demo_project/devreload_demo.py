"""The demo project's URLconf: the project's routes plus one page to watch (a copy of it is edited by tests)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from catfeeder.urls import urlpatterns as project_urlpatterns

PYTHON_SAYS = "python one"


def demo(request: HttpRequest) -> HttpResponse:
    return render(request, "demo.html", {"python_says": PYTHON_SAYS})


urlpatterns = [path("demo/", demo), *project_urlpatterns]
