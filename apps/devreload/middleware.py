from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.templatetags.static import static
from django.utils.html import format_html

from apps.devreload.routing import WS_PATH

BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)

GetResponse = Callable[[HttpRequest], HttpResponseBase] | Callable[[HttpRequest], Awaitable[HttpResponseBase]]


def script_tag() -> bytes:
    tag = format_html('<script src="{}" data-path="/{}" defer></script>', static("devreload/devreload.js"), WS_PATH)
    return tag.encode("ascii")


def with_script(response: HttpResponseBase) -> HttpResponseBase:
    """The response with the live-reload script before its last </body>, when it is a whole HTML page."""
    if (
        not isinstance(response, HttpResponse)  # streaming and file responses are left alone
        or response.get("Content-Encoding")
        or response.get("Content-Type", "").split(";", 1)[0].strip().lower() != "text/html"
    ):
        return response
    ends = list(BODY_END.finditer(response.content))
    if not ends:
        return response  # a fragment (htmx, a partial): the page it lands in has the script
    at = ends[-1].start()
    response.content = response.content[:at] + script_tag() + response.content[at:]
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response


class DevReloadMiddleware:
    """Adds the live-reload script to every HTML page, the admin's too. DEBUG only:
    settings add it to MIDDLEWARE only then, and it refuses to load otherwise."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        if not settings.DEBUG:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        return with_script(cast(HttpResponseBase, self.get_response(request)))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        return with_script(await cast(Awaitable[HttpResponseBase], self.get_response(request)))
