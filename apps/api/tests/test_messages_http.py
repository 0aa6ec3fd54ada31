"""Messages over HTTP, against the real server (the lean ASGI path) and, where said, Django's view."""

from __future__ import annotations

import math

import pytest
import requests
from django.test import Client, override_settings

from apps.accounts.models import User
from apps.api.messages import registry
from apps.api.messages.http import limited_keys
from apps.api.tests.sockets import Socket, session_token
from catfeeder.testing import AsgiServer

PROBLEM = "application/problem+json"


def get(server: AsgiServer, path: str, **kwargs: object) -> requests.Response:
    return requests.get(f"{server.url}/api/messages/{path}", timeout=10, **kwargs)  # type: ignore[arg-type]


def post(server: AsgiServer, name: str, **kwargs: object) -> requests.Response:
    return requests.post(f"{server.url}/api/messages/{name}", timeout=10, **kwargs)  # type: ignore[arg-type]


def test_the_ansar_call_works_as_documented(asgi_server: AsgiServer) -> None:
    response = get(asgi_server, "Multiply?x=1.5&y=2.25")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"type": "Output", "value": 3.375}


def test_a_post_with_a_json_body_answers_the_same(asgi_server: AsgiServer) -> None:
    response = post(asgi_server, "Multiply", json={"x": 1.5, "y": 2.25})
    assert response.json() == {"type": "Output", "value": 3.375}


def test_divide_by_zero_is_a_typed_error_and_the_server_goes_on(asgi_server: AsgiServer) -> None:
    response = get(asgi_server, "Divide?x=1.5&y=0")
    assert response.status_code == 422
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json()["type"] == "urn:catfeeder:problem:division-by-zero"
    assert get(asgi_server, "Divide?x=3&y=2").json() == {"type": "Output", "value": 1.5}


def test_an_unknown_name_is_a_404_problem_at_once(asgi_server: AsgiServer) -> None:
    for path in ("Add?x=1&y=2", "multiply?x=1&y=2", "Multiply/extra?x=1&y=2"):
        response = get(asgi_server, path)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"] == PROBLEM


@pytest.mark.parametrize(
    ("query", "loc", "error_type"),
    [
        ("x=3", ["query", "y"], "missing"),
        ("x=3&y=2&z=1", ["query", "z"], "extra_forbidden"),
        ("x=abc&y=2", ["query", "x"], "float_parsing"),
        ("x=nan&y=2", ["query", "x"], "finite_number"),
        ("x=inf&y=2", ["query", "x"], "finite_number"),
        ("x=1&x=2&y=2", ["query", "x"], "duplicate"),
    ],
)
def test_missing_extra_and_malformed_fields_are_422_with_per_field_errors(
    asgi_server: AsgiServer, query: str, loc: list[str], error_type: str
) -> None:
    response = get(asgi_server, f"Multiply?{query}")
    assert response.status_code == 422
    assert {"loc": loc, "type": error_type} in [{"loc": e["loc"], "type": e["type"]} for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        ({"x": 1.5}, 422, ["body", "y"]),
        ({"x": "1.5", "y": 2}, 422, ["body", "x"]),  # JSON carries types: a string is not a number
        ({"x": True, "y": 2}, 422, ["body", "x"]),
        ({"x": 1, "y": 2, "type": "Multiply"}, 422, ["body", "type"]),
    ],
)
def test_json_bodies_are_strict(asgi_server: AsgiServer, body: dict[str, object], status: int, loc: list[str]) -> None:
    response = post(asgi_server, "Multiply", json=body)
    assert response.status_code == status
    assert loc in [e["loc"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{bad", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('{"x": NaN, "y": 1}', "application/json", 400),
        ("x=1&y=2", "application/x-www-form-urlencoded", 415),
        ("x" * (64 * 1024 + 1), "application/json", 413),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused(
    asgi_server: AsgiServer, data: str, content_type: str, status: int
) -> None:
    response = post(asgi_server, "Multiply", data=data, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert response.headers["Content-Type"] == PROBLEM


def test_an_overflowing_result_is_an_error_not_infinity(asgi_server: AsgiServer) -> None:
    response = get(asgi_server, "Multiply?x=1e308&y=10")
    assert response.status_code == 422
    assert response.json()["type"] == "urn:catfeeder:problem:out-of-range"
    assert "Infinity" not in response.text
    # and a result that is finite but huge stays a number JSON can carry
    assert math.isclose(get(asgi_server, "Multiply?x=1e307&y=10").json()["value"], 1e308)


@pytest.mark.parametrize("name", ["Boom", "AsyncBoom"])
def test_a_handler_that_raises_is_a_500_with_only_a_correlation_id(asgi_server: AsgiServer, name: str) -> None:
    response = post(asgi_server, name, json={"n": 1})
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "correlation_id"}
    assert len(body["correlation_id"]) == 32
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert body["correlation_id"] in asgi_server.output()  # the log has it, with the traceback
    assert get(asgi_server, "Multiply?x=2&y=3").json()["value"] == 6


def test_methods_other_than_get_and_post_are_405_with_allow(asgi_server: AsgiServer) -> None:
    response = requests.put(f"{asgi_server.url}/api/messages/Multiply", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"


def test_a_message_that_writes_cannot_be_sent_by_get(asgi_server: AsgiServer) -> None:
    response = get(asgi_server, "FeederFeed?feeder_id=1&grams=5")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_owner_messages_need_credentials_and_a_wrong_token_is_never_anonymous(asgi_server: AsgiServer) -> None:
    response = get(asgi_server, "GetFeederStatus?feeder_id=1")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "X-Session-Token"
    wrong = get(asgi_server, "Multiply?x=1&y=2", headers={"X-Session-Token": "not-a-token"})
    assert wrong.status_code == 401
    wrong_device = get(asgi_server, "Multiply?x=1&y=2", headers={"Authorization": "Bearer cfd_nope_nope"})
    assert wrong_device.status_code == 401


def test_an_owners_token_is_no_credential_for_device_messages(asgi_server: AsgiServer, alice: User) -> None:
    token = session_token(alice)
    response = post(asgi_server, "Heartbeat", json={"food_level_percent": 50}, headers={"X-Session-Token": token})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_push_over_http_reaches_the_callers_open_sockets(asgi_server: AsgiServer, alice: User) -> None:
    token = session_token(alice)
    with Socket(f"{asgi_server.ws_url}/ws/app/", {"X-Session-Token": token}) as socket:
        response = post(asgi_server, "Echo", json={"value": 2.5}, headers={"X-Session-Token": token})
        assert response.json() == {"type": "Output", "value": 2.5}
        assert socket.expect("Output")["value"] == 5.0


def test_a_browser_session_goes_through_django_with_csrf(asgi_server: AsgiServer, alice: User) -> None:
    browser = requests.Session()
    login = Client()
    login.force_login(alice)
    browser.cookies.set("sessionid", login.cookies["sessionid"].value)
    assert (
        browser.get(f"{asgi_server.url}/api/messages/GetFeederStatus?feeder_id=999999", timeout=10).status_code == 422
    )
    refused = browser.post(f"{asgi_server.url}/api/messages/FeederFeed", json={"feeder_id": 1, "grams": 5}, timeout=10)
    assert refused.status_code == 403  # no CSRF token


def test_djangos_view_answers_exactly_as_the_lean_path(asgi_server: AsgiServer) -> None:
    client = Client()
    for path in ("Multiply?x=1.5&y=2.25", "Divide?x=1&y=0", "Multiply?x=abc&y=1", "Nope"):
        lean = get(asgi_server, path)
        django = client.get(f"/api/messages/{path}")
        assert (django.status_code, django.json()) == (lean.status_code, lean.json()), path
        assert django["Content-Type"] == lean.headers["Content-Type"]


@pytest.mark.usefixtures("clean_rate_limits")
@override_settings(API_RATE_LIMIT_USER="3/minute")
def test_an_owner_over_the_apis_rate_limit_gets_429_with_retry_after(alice: User) -> None:
    headers = {"HTTP_X_SESSION_TOKEN": session_token(alice)}
    statuses = [Client().get("/api/messages/GetFeederStatus?feeder_id=1", **headers).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    refused = Client().get("/api/messages/GetFeederStatus?feeder_id=1", **headers)
    assert 0 < int(refused["Retry-After"]) <= 60


def test_only_work_is_counted_against_the_rate_limit() -> None:
    multiply, feed = registry.entries["Multiply"], registry.entries["FeederFeed"]
    assert limited_keys(multiply, None, "10.0.0.1", counted=False) == []  # cheaper than counting
    assert limited_keys(multiply, None, "10.0.0.1", counted=True) == [("api:ip:10.0.0.1", "API_RATE_LIMIT_IP")]
    assert limited_keys(feed, None, "10.0.0.1", counted=False) == [("api:ip:10.0.0.1", "API_RATE_LIMIT_IP")]
