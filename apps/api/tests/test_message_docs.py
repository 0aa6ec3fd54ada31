"""The registry's documents: AsyncAPI 3 for the sockets, message paths in OpenAPI.

What the server really sends is checked against what the documents say.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from django.test import Client

from apps.accounts.models import User
from apps.api.messages import registry
from apps.api.tests.sockets import Socket, session_token
from catfeeder.testing import AsgiServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def asyncapi() -> dict[str, Any]:
    response = Client().get("/api/asyncapi.json")
    assert response.status_code == 200
    return dict(response.json())


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_the_asyncapi_document_describes_both_sockets(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"] == "3.0.0"
    assert {c["address"] for c in asyncapi["channels"].values()} == {"/ws/device/", "/ws/app/"}
    device, app = asyncapi["channels"]["device"]["messages"], asyncapi["channels"]["app"]["messages"]
    assert {"Hello", "Heartbeat", "Visit", "MayFeed", "FeedDecision", "Fed", "CommandResult", "FeedNow",
            "ConfigUpdate", "Pair", "Authenticate", "Multiply", "Error"} <= set(device)  # fmt: skip
    assert {"FeederStatus", "VisitRecorded", "FedRecorded", "CommandStatus", "FeederFeed", "Error"} <= set(app)
    assert "FeedNow" not in app
    assert "Boom" not in device  # undocumented on purpose


def test_every_reference_in_the_asyncapi_document_resolves(asyncapi: dict[str, Any]) -> None:
    found = refs(asyncapi)
    assert len(found) > 50
    for ref in found:
        resolve(asyncapi, ref)


def test_operations_say_who_sends_and_what_answers(asyncapi: dict[str, Any]) -> None:
    may_feed = asyncapi["operations"]["device.MayFeed"]
    assert may_feed["action"] == "receive"
    assert [r["$ref"] for r in may_feed["reply"]["messages"]] == [
        "#/channels/device/messages/FeedDecision",
        "#/channels/device/messages/Error",
    ]
    assert asyncapi["operations"]["device.FeedNow"]["action"] == "send"
    assert "security" in asyncapi["operations"]["app.FeederFeed"]
    assert "security" not in asyncapi["operations"]["device.Multiply"]


def validator(asyncapi: dict[str, Any], name: str) -> jsonschema.protocols.Validator:
    schema = {**asyncapi["components"]["messages"][name]["payload"], "components": asyncapi["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_what_the_server_sends_matches_the_documented_payloads(
    asgi_server: AsgiServer, alice: User, asyncapi: dict[str, Any]
) -> None:
    token = session_token(alice)
    with Socket(f"{asgi_server.ws_url}/ws/app/", {"X-Session-Token": token}) as socket:
        frames = [
            socket.call("Multiply", x=1.5, y=2.25),
            socket.call("Divide", x=1, y=0),
            socket.call("GetFeederStatus", feeder_id=1),
            socket.call("Multiply", x="a", y=1),
        ]
    for frame in frames:
        validator(asyncapi, frame["type"]).validate(frame)


def test_a_documented_request_payload_refuses_what_the_server_refuses(asyncapi: dict[str, Any]) -> None:
    check = validator(asyncapi, "Multiply")
    check.validate({"type": "Multiply", "id": "1", "x": 1.5, "y": 2})
    for wrong in ({"type": "Multiply", "x": 1}, {"type": "Multiply", "x": 1, "y": 2, "z": 3}, {"type": "Divide"}):
        assert not check.is_valid(wrong)


def test_every_http_message_has_its_openapi_path() -> None:
    schema = Client().get("/api/openapi.json").json()
    documented = {path.removeprefix("/api/messages/") for path in schema["paths"] if path.startswith("/api/messages/")}
    expected = {e.name for e in registry.entries.values() if "http" in e.routes and e.documented}
    assert documented == expected
    multiply = schema["paths"]["/api/messages/Multiply"]
    assert set(multiply) == {"get", "post"}
    assert [p["name"] for p in multiply["get"]["parameters"]] == ["x", "y"]
    assert multiply["get"]["security"] == []
    assert set(schema["paths"]["/api/messages/Fed"]) == {"post"}
    assert schema["paths"]["/api/messages/Fed"]["post"]["security"] == [{"DeviceToken": []}]
    reply = multiply["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert reply["properties"]["type"]["const"] == "Output"
    assert set(multiply["get"]["responses"]["422"]["content"]) == {"application/problem+json"}
