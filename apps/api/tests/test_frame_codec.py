"""Any text or bytes at all decode to a typed message or a typed error, never anything else."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.api.messages import ANONYMOUS, Caller, CallerKind, MessageError, registry
from apps.api.messages.dispatch import MAX_QUERY_FIELDS, Frame, decode_frame, encode, error_message, split_query

OWNER = Caller(CallerKind.OWNER)
NAMES = sorted(registry.entries) + ["Nope", "", "FeedNow", "__class__"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
frames = st.fixed_dictionaries(
    {"type": st.sampled_from(NAMES) | json_values},
    optional={"id": json_values, "x": json_values, "y": json_values, "feeder_id": json_values, "n": json_values},
).map(json.dumps)


def outcome(text: str | bytes, route: str, caller: Caller) -> Frame | MessageError:
    try:
        return decode_frame(text, route=route, caller=caller)  # type: ignore[arg-type]
    except MessageError as error:
        return error


def decodes_or_refuses(text: str | bytes) -> None:
    for route, caller in (("app", OWNER), ("device", ANONYMOUS)):
        result = outcome(text, route, caller)
        if isinstance(result, MessageError):
            assert result.code
            assert json.loads(encode(error_message(result), result.request_id))["type"] == "Error"
        else:
            assert isinstance(result.message, result.entry.model)


@settings(max_examples=400, deadline=None, database=None)
@given(frames)
def test_any_json_frame_is_a_message_or_a_typed_error(text: str) -> None:
    decodes_or_refuses(text)


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_any_text_or_bytes_is_a_message_or_a_typed_error(text: str | bytes) -> None:
    decodes_or_refuses(text)


def test_an_echoed_id_is_exactly_the_clients() -> None:
    for request_id in ("x", 'q"uote', 7, "é\\u0000"):
        text = json.dumps({"type": "Multiply", "id": request_id, "x": 1, "y": 2})
        frame = decode_frame(text, route="app", caller=OWNER)
        reply = json.loads(encode(registry.entries["Multiply"].handler(frame.message, None), frame.request_id))  # type: ignore[arg-type]
        assert reply["id"] == request_id


def parsed_or_refused(split: Callable[[str], list[tuple[str, str]]], text: str) -> list[tuple[str, str]] | str:
    try:
        return split(text)
    except (ValueError, UnicodeDecodeError):
        return "refused"


@settings(max_examples=400, deadline=None, database=None)
@given(st.text(alphabet="ab=&;%+2F.é", max_size=30) | st.integers(49, 51).map(lambda n: "&".join(["a=1"] * n)))
def test_the_query_split_is_parse_qsl(text: str) -> None:
    def reference(query: str) -> list[tuple[str, str]]:
        return parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=MAX_QUERY_FIELDS)

    assert parsed_or_refused(split_query, text) == parsed_or_refused(reference, text)
