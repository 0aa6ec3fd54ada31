from __future__ import annotations

import json
import urllib.request

from django.test import Client

from catfeeder.testing import AsgiServer


def test_health_live_answers_200_json_over_the_real_server(asgi_server: AsgiServer) -> None:
    with urllib.request.urlopen(f"{asgi_server.url}/health/live", timeout=5) as response:  # noqa: S310
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert json.loads(response.read())["status"] == "pass"


def test_health_live_refuses_writes(client: Client) -> None:
    assert client.post("/health/live").status_code == 405
