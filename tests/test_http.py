"""The HTTP layer: security headers everywhere, limits, errors, CORS, compression, rate limits."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts.models import User
from catfeeder.testing import BASE_DIR, process_env

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def every_route(patterns: list[URLPattern | URLResolver] | None = None, prefix: str = "") -> Iterator[str]:
    """Every URL the project routes, parameters filled with plausible values."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from every_route(entry.url_patterns, route)
        else:
            path = re.sub(r"<int:\w+>", "1", route)
            path = re.sub(r"<(?:\w+:)?\w+>", "x", path)
            yield "/" + re.sub(r"[\^$?]|\\Z", "", path).replace("\\", "")


def assert_secure(response: object, where: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response[name] == value, f"{where}: {name}"  # type: ignore[index]
    assert "default-src 'self'" in response["Content-Security-Policy"], where  # type: ignore[index]
    assert response["Server"].startswith("catfeeder/"), where  # type: ignore[index]


@pytest.mark.long
def test_every_route_and_every_error_carries_the_security_headers(alice: User) -> None:
    logged_in = Client()
    logged_in.force_login(alice)
    routes = sorted(set(every_route()))
    assert len(routes) > 50
    statuses = set()
    for client in (Client(), logged_in):
        for path in routes:
            for method in ("get", "post", "delete"):
                response = getattr(client, method)(path)
                statuses.add(response.status_code)
                assert_secure(response, f"{method.upper()} {path} -> {response.status_code}")
    assert {200, 302, 401, 404, 405} <= statuses  # successes and errors were both crawled


def test_errors_without_a_handler_get_a_body_of_their_kind() -> None:
    api = Client().post("/health/live")  # a view that allows GET only
    assert api.status_code == 405
    assert "text/html" in api["Content-Type"]
    assert "405" in api.content.decode()
    assert api["Allow"] == "GET"


def test_an_unknown_api_route_is_problem_json_and_a_page_is_html() -> None:
    assert Client().get("/api/nope").json()["status"] == 404
    page = Client().get("/nope/")
    assert page.status_code == 404
    assert "text/html" in page["Content-Type"]


def test_a_declared_oversize_body_is_413_before_it_is_read(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post("/api/feeders", "{}", content_type="application/json", CONTENT_LENGTH="2000000")
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024, HTTP_MAX_UPLOAD_BYTES=10**9)
def test_an_oversize_json_body_is_413_problem(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    body = '{"name": "' + "x" * 5000 + '", "mac": "AA:BB:CC:DD:EE:FF"}'
    response = client.post("/api/feeders", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert "too large" in response.json()["detail"] or "over" in response.json()["detail"]


def test_too_many_form_fields_is_413() -> None:
    fields = {f"field{n}": "x" for n in range(300)}
    response = Client().post("/accounts/login/", fields)
    assert response.status_code == 413
    assert "Too many form fields" in response.content.decode()


def test_too_many_files_is_413(tmp_path: object) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = {f"file{n}": SimpleUploadedFile(f"f{n}.txt", b"x") for n in range(10)}
    response = Client().post("/accounts/login/", files)
    assert response.status_code == 413
    assert "Too many files" in response.content.decode()


@override_settings(HTTP_MAX_UPLOAD_BYTES=1000)
def test_an_oversize_upload_is_413() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = Client().post("/api/feeders", {"photo": SimpleUploadedFile("big.jpg", b"x" * 5000)})
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM


def test_a_body_that_is_not_json_is_415(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post("/api/feeders", "name=x", content_type="text/plain")
    assert response.status_code == 415
    assert response["Content-Type"] == PROBLEM


def test_malformed_json_is_400_problem(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post("/api/feeders", '{"name": ', content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


@override_settings(API_RATE_LIMIT_USER="3/minute")
@pytest.mark.usefixtures("clean_rate_limits")
def test_an_owner_over_the_rate_limit_gets_429_with_retry_after(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    statuses = [client.get("/api/feeders").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    limited = client.get("/api/feeders")
    assert limited.status_code == 429
    assert limited["Content-Type"] == PROBLEM
    assert 1 <= int(limited["Retry-After"]) <= 60


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"])
def test_cors_answers_only_listed_origins_with_credentials() -> None:
    allowed = Client().options(
        "/api/feeders", HTTP_ORIGIN="https://app.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert allowed["Access-Control-Allow-Credentials"] == "true"
    other = Client().get("/api/feeders", HTTP_ORIGIN="https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in other


def test_cors_for_every_origin_with_credentials_fails_the_checks() -> None:
    from catfeeder.checks import cors_credentials_need_an_allow_list

    with override_settings(CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=True):
        assert [e.id for e in cors_credentials_need_an_allow_list(None)] == ["catfeeder.E001"]


def test_responses_are_compressed_for_clients_that_accept_it() -> None:
    response = Client().get("/api/openapi.json", HTTP_ACCEPT_ENCODING="br, gzip")
    assert response["Content-Encoding"] == "br"


@override_settings(SECURE_HSTS_SECONDS=31_536_000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_https_responses_carry_hsts() -> None:
    response = Client().get("/health/live", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_production_settings_pass_check_deploy_with_no_warning() -> None:
    env = process_env(
        DJANGO_SETTINGS_MODULE="catfeeder.settings.base", DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="k3y-" + "x7Qp9Lm2Zt" * 6, DJANGO_ALLOWED_HOSTS="feeders.example.com",
    )  # fmt: skip
    argv = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=BASE_DIR, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
