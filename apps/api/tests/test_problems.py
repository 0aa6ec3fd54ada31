from __future__ import annotations

import pytest
from django.test import Client
from ninja.testing import TestClient

from apps.api.api import CatFeederAPI

pytestmark = pytest.mark.django_db


def test_an_unknown_api_route_is_a_404_problem() -> None:
    response = Client().get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_a_handler_crash_is_a_500_problem_with_a_correlation_id_and_nothing_else() -> None:
    broken = CatFeederAPI(urls_namespace="broken")

    @broken.get("/boom", auth=None)
    def boom(request: object) -> None:
        raise RuntimeError("secret database password is hunter2")

    response = TestClient(broken).get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["title"] == "Internal Server Error"
    assert len(body["correlation_id"]) == 32
    assert "hunter2" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_the_openapi_document_gives_errors_their_problem_media_type() -> None:
    schema = Client().get("/api/openapi.json").json()
    responses = schema["paths"]["/api/me"]["get"]["responses"]
    assert set(responses["401"]["content"]) == {"application/problem+json"}
    assert set(responses["200"]["content"]) == {"application/json"}


def test_the_api_docs_load_their_assets_locally() -> None:
    page = Client().get("/api/docs").content.decode()
    assert "cdn" not in page.lower()
    assert "/static/ninja/swagger-ui-bundle.js" in page
