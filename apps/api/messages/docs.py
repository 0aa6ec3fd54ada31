"""The registry, documented: HTTP paths for /api/openapi.json, and /api/asyncapi.json (AsyncAPI 3.0)."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from apps.api.messages.core import CallerKind, Entry, Message, registry
from apps.api.messages.dispatch import Error
from apps.api.messages.http import PREFIX
from apps.api.problems import PROBLEM_CONTENT_TYPE, ProblemOut

SCHEMAS = "#/components/schemas/{model}"
ERROR_STATUSES = ("400", "401", "403", "404", "409", "413", "415", "422", "429", "500", "503")
ID_SCHEMA = {"anyOf": [{"type": "string", "maxLength": 128}, {"type": "integer"}], "description": "The client's id."}
DEVICE_TOKEN_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "A device token (cfd_…) from pairing: `Authorization: Bearer cfd_…`.",
}


def _schema(model: type[Message], mode: str, defs: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(model.model_json_schema(ref_template=SCHEMAS, mode=mode))  # type: ignore[arg-type]
    defs.update(schema.pop("$defs", {}))
    return schema


def envelope(model: type[Message], mode: str, defs: dict[str, Any], *, with_id: bool) -> dict[str, Any]:
    """The message's fields plus `type` (and `id` on a socket), as they travel."""
    schema = _schema(model, mode, defs)
    name = model.__name__
    head: dict[str, Any] = {"type": {"type": "string", "const": name, "enum": [name]}}
    if with_id:
        head["id"] = ID_SCHEMA
    schema["properties"] = {**head, **schema.get("properties", {})}
    schema["required"] = ["type", *schema.get("required", [])]
    schema["additionalProperties"] = False
    return schema


# -- OpenAPI --------------------------------------------------------------------------------
def _security(entry: Entry) -> list[dict[str, list[str]]]:
    if CallerKind.ANONYMOUS in entry.callers:
        return []
    security: list[dict[str, list[str]]] = []
    if CallerKind.OWNER in entry.callers:
        security += [{"AppTokenAuth": []}, {"BrowserSessionAuth": []}]
    if CallerKind.DEVICE in entry.callers:
        security += [{"DeviceToken": []}]
    return security


def _query_parameters(entry: Entry, defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _schema(entry.model, "validation", defs)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        options = [s for s in prop.get("anyOf", [prop]) if s.get("type") != "null"]  # absent is the null
        param_schema = {**options[0], **{k: v for k, v in prop.items() if k in ("title", "description")}}
        parameters.append({"name": name, "in": "query", "required": name in required, "schema": param_schema})
    return parameters


def _operation(entry: Entry, method: str, defs: dict[str, Any]) -> dict[str, Any]:
    replies = [envelope(reply, "serialization", defs, with_id=False) for reply in entry.replies]
    problem = {"content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": SCHEMAS.format(model="ProblemOut")}}}}
    operation: dict[str, Any] = {
        "operationId": f"message_{entry.name}_{method}",
        "summary": entry.summary,
        "tags": ["messages"],
        "security": _security(entry),
        "responses": {
            "200": {
                "description": " or ".join(r.__name__ for r in entry.replies),
                "content": {"application/json": {"schema": replies[0] if len(replies) == 1 else {"oneOf": replies}}},
            },
            **{status: {"description": "A problem (RFC 9457).", **problem} for status in ERROR_STATUSES},
        },
    }
    if method == "get":
        operation["parameters"] = _query_parameters(entry, defs)
    else:
        body = _schema(entry.model, "validation", defs)
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def add_openapi_paths(schema: dict[str, Any]) -> dict[str, Any]:
    """Add a path per message callable over HTTP to ninja's OpenAPI document."""
    components = schema.setdefault("components", {})
    defs = components.setdefault("schemas", {})
    defs.setdefault("ProblemOut", ProblemOut.model_json_schema(ref_template=SCHEMAS))
    components.setdefault("securitySchemes", {})["DeviceToken"] = DEVICE_TOKEN_SCHEME
    for entry in registry.entries.values():
        if "http" not in entry.routes or not entry.documented:
            continue
        methods = ("get", "post") if entry.queryable else ("post",)
        schema["paths"][f"{PREFIX}{entry.name}"] = {m: _operation(entry, m, defs) for m in methods}
    return schema


# -- AsyncAPI -----------------------------------------------------------------------------------
SOCKETS = {
    "device": ("/ws/device/", "Feeders. The device token in `Authorization: Bearer …`, or Authenticate or Pair "
               "first."),
    "app": ("/ws/app/", "Owners. The app token in `X-Session-Token` (or Authenticate first), or the browser session "
            "with an Origin in ALLOWED_HOSTS. Live events about the feeders of the user's households arrive unasked."),
}  # fmt: skip
ASYNC_SECURITY = {
    "device": {"type": "httpApiKey", "name": "Authorization", "in": "header", "description": "Bearer cfd_…"},
    "app": {"type": "httpApiKey", "name": "X-Session-Token", "in": "header", "description": "allauth app token"},
}
DESCRIPTION = (
    'Frames are JSON text: `{{"type": "<Name>", "id": "<your id>", ...fields}}`. The reply has the same `id`; '
    "messages the server sends on its own have none. Every failure is an `Error` with a `code`, a `message` and "
    "the request's `id`, and the connection stays usable. Limits: frames over {max_bytes} bytes close the socket "
    "with 1009; over {rate:g} messages a second (bursts of {burst:g}) get `Error{{code: rate_limited}}` and close "
    "1008; a binary frame gets `Error{{code: unsupported_frame}}`; text that is not UTF-8 closes with 1007; no "
    "credentials within {auth}s, or refused ones, close with 4401; a device silent for {silent}s closes with 4408. "
    "With the database or Redis down, or no answer within {timeout:g}s, a message gets "
    "`Error{{code: dependency_unavailable, retry_after}}` (seconds to wait) and the connection stays usable."
)


def _async_message(model: type[Message], defs: dict[str, Any], *, inbound: bool) -> dict[str, Any]:
    mode = "validation" if inbound else "serialization"
    return {
        "name": model.__name__,
        "title": model.__name__,
        "summary": (model.__doc__ or model.__name__).strip().split("\n")[0],
        "contentType": "application/json",
        "payload": envelope(model, mode, defs, with_id=True),
    }


def asyncapi_document() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for route, (address, description) in SOCKETS.items():
        names: list[str] = []
        entries = [e for e in registry.entries.values() if route in e.routes and e.documented]
        pushes = [p for p in registry.pushes.values() if route in p.routes]
        for entry in entries:
            messages.setdefault(entry.name, _async_message(entry.model, defs, inbound=True))
            for reply in entry.replies:
                messages.setdefault(reply.__name__, _async_message(reply, defs, inbound=False))
            names += [entry.name, *(r.__name__ for r in entry.replies)]
        for push in pushes:
            messages.setdefault(push.model.__name__, _async_message(push.model, defs, inbound=False))
            names.append(push.model.__name__)
        names = list(dict.fromkeys([*names, Error.__name__]))
        messages.setdefault(Error.__name__, _async_message(Error, defs, inbound=False))
        channels[route] = {
            "address": address,
            "description": description,
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
        }
        here = f"#/channels/{route}"
        for entry in entries:
            replies = [*(r.__name__ for r in entry.replies), Error.__name__]
            operation: dict[str, Any] = {
                "action": "receive",
                "channel": {"$ref": here},
                "summary": entry.summary,
                "messages": [{"$ref": f"{here}/messages/{entry.name}"}],
                "reply": {"channel": {"$ref": here}, "messages": [{"$ref": f"{here}/messages/{r}"} for r in replies]},
            }
            if CallerKind.ANONYMOUS not in entry.callers:
                operation["security"] = [{"$ref": f"#/components/securitySchemes/{route}"}]
            operations[f"{route}.{entry.name}"] = operation
        for push in pushes:
            name = push.model.__name__
            operations[f"{route}.{name}"] = {
                "action": "send",
                "channel": {"$ref": here},
                "summary": push.summary,
                "messages": [{"$ref": f"{here}/messages/{name}"}],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Cat Feeder message sockets",
            "version": settings.CATFEEDER_VERSION,
            "description": DESCRIPTION.format(
                max_bytes=settings.MESSAGE_MAX_BYTES,
                rate=settings.WS_MESSAGES_PER_SECOND,
                burst=settings.WS_MESSAGE_BURST,
                auth=settings.WS_AUTH_TIMEOUT,
                silent=settings.FEEDER_OFFLINE_AFTER,
                timeout=settings.MESSAGE_TIMEOUT,
            ),  # fmt: skip
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": defs, "securitySchemes": ASYNC_SECURITY},
    }


@require_GET
def asyncapi_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(asyncapi_document())
