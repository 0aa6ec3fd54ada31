from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.test import Client


def test_routes_lists_every_api_operation_with_its_auth_and_the_other_routes() -> None:
    out = StringIO()
    call_command("routes", stdout=out)
    lines = out.getvalue().splitlines()
    operations = sum(len(ops) for ops in Client().get("/api/openapi.json").json()["paths"].values())
    api_rows = [line for line in lines if " /api/" in line and not line.startswith("*")]
    assert len(api_rows) == operations
    assert any(
        line.startswith("POST") and "/api/feeders/{feeder_id}/feed " in line and "AppTokenAuth" in line
        for line in lines
    )
    assert any("/health/live" in line for line in lines)
    assert lines[-1].endswith("WebSocket routes")
