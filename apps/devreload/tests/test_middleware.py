from __future__ import annotations

import asyncio
import gzip

import pytest
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.test import Client, RequestFactory
from pytest_django.fixtures import Settings

from apps.devreload.middleware import DevReloadMiddleware

SCRIPT = b'<script src="/static/devreload/devreload.js" data-path="/ws/devreload/" defer></script>'


@pytest.fixture(autouse=True)
def debug(settings: Settings) -> None:
    settings.DEBUG = True  # pytest-django turns it off for tests


def through(response: HttpResponseBase) -> HttpResponseBase:
    return DevReloadMiddleware(lambda request: response)(RequestFactory().get("/"))  # type: ignore[return-value]


def test_the_script_goes_before_the_last_closing_body_tag() -> None:
    page = b"<html><body><pre>&lt;/body&gt; </body></pre></BODY >\n</html>"
    response = through(HttpResponse(page, headers={"Content-Length": str(len(page))}))
    assert isinstance(response, HttpResponse)
    assert response.content == b"<html><body><pre>&lt;/body&gt; </body></pre>" + SCRIPT + b"</BODY >\n</html>"
    assert response["Content-Length"] == str(len(response.content))


@pytest.mark.parametrize(
    "response",
    [
        JsonResponse({"html": "</body>"}),
        HttpResponse(b"<p>a fragment</p>"),
        HttpResponse(gzip.compress(b"<body></body>"), headers={"Content-Encoding": "gzip"}),
        StreamingHttpResponse(iter([b"<body></body>"])),
    ],
    ids=["json", "fragment", "compressed", "streaming"],
)
def test_anything_but_a_whole_plain_html_page_is_left_alone(response: HttpResponseBase) -> None:
    before = b"".join(response) if not response.streaming else None
    after = through(response)
    assert after is response
    if before is not None:
        assert b"".join(after) == before


def test_it_works_in_an_async_middleware_chain() -> None:
    async def get_response(request: HttpRequest) -> HttpResponseBase:
        return HttpResponse(b"<body></body>")

    middleware = DevReloadMiddleware(get_response)
    response = asyncio.run(middleware(RequestFactory().get("/")))  # type: ignore[arg-type]
    assert response.content == b"<body>" + SCRIPT + b"</body>"


def test_it_refuses_to_load_with_debug_off(settings: Settings) -> None:
    settings.DEBUG = False
    with pytest.raises(MiddlewareNotUsed):
        DevReloadMiddleware(lambda request: HttpResponse())


def test_admin_pages_get_the_script(client: Client) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert response.content.count(SCRIPT) == 1
