"""Messages over WebSocket, against the real server: replies, typed errors, limits."""

from __future__ import annotations

import contextlib

import pytest
from websockets.exceptions import ConnectionClosed

from apps.accounts.models import User
from apps.api.tests.sockets import Socket, session_token
from catfeeder.testing import AsgiServer


@pytest.fixture
def owner_socket(asgi_server: AsgiServer, alice: User) -> Socket:
    return Socket(f"{asgi_server.ws_url}/ws/app/", {"X-Session-Token": session_token(alice)})


def test_a_reply_echoes_the_request_id(owner_socket: Socket) -> None:
    with owner_socket as socket:
        socket.send({"type": "Multiply", "id": "abc", "x": 1.5, "y": 2.25})
        assert socket.recv() == {"type": "Output", "id": "abc", "value": 3.375}
        socket.send({"type": "Multiply", "id": 7, "x": 2, "y": 2})
        assert socket.recv() == {"type": "Output", "id": 7, "value": 4.0}


@pytest.mark.parametrize(
    ("frame", "code", "echoed_id"),
    [
        ("{bad", "invalid_json", None),
        ("[1, 2]", "invalid_message", None),
        ('{"id": "q"}', "invalid_message", "q"),
        ('{"type": 5, "id": "q"}', "invalid_message", "q"),
        ('{"type": "Nope", "id": "q"}', "unknown_type", "q"),
        ('{"type": "FeedNow", "id": "q", "command_id": 1, "grams": 1, "pet_id": null}', "unknown_type", "q"),
        ('{"type": "Multiply", "id": "q", "x": "1", "y": 2}', "validation", "q"),
        ('{"type": "Multiply", "id": "q", "x": 1}', "validation", "q"),
        ('{"type": "Multiply", "id": "q", "x": 1, "y": 2, "z": 3}', "validation", "q"),
        ('{"type": "Multiply", "id": {"a": 1}, "x": 1, "y": 2}', "invalid_message", None),
        ('{"type": "Divide", "id": "q", "x": 1, "y": 0}', "division_by_zero", "q"),
        ('{"type": "Boom", "id": "q", "n": 1}', "internal", "q"),
        ('{"type": "Hello", "id": "q", "firmware": "1.0"}', "forbidden", "q"),
    ],
)
def test_every_failure_is_an_error_with_the_request_id_and_the_socket_stays_usable(
    owner_socket: Socket, frame: str, code: str, echoed_id: str | None
) -> None:
    with owner_socket as socket:
        socket.send(frame)
        error = socket.recv()
        assert (error["type"], error["code"], error.get("id")) == ("Error", code, echoed_id)
        assert error["message"]
        assert "hunter2" not in str(error)
        assert socket.call("Multiply", x=2, y=3)["value"] == 6.0


def test_field_errors_say_where(owner_socket: Socket) -> None:
    with owner_socket as socket:
        error = socket.call("Multiply", x="1", y=2)
        assert error["errors"] == [{"loc": ["x"], "msg": "Input should be a valid number", "type": "float_type"}]


def test_a_binary_frame_is_an_error_and_the_socket_stays(owner_socket: Socket) -> None:
    with owner_socket as socket:
        socket.send(b'{"type": "Multiply", "x": 1, "y": 2}')
        assert socket.recv()["code"] == "unsupported_frame"
        assert socket.call("Multiply", x=1, y=2)["value"] == 2.0


def test_a_frame_over_64_kib_closes_with_1009(owner_socket: Socket) -> None:
    with owner_socket as socket:
        assert socket.call("Multiply", x=1, y=2, pad="x" * 65_000)["code"] == "validation"  # under: an answer
        socket.send('{"type": "Multiply", "x": 1, "y": 2, "pad": "' + "x" * 65_536 + '"}')
        assert socket.close_code() == 1009


def test_text_that_is_not_utf8_closes_with_1007(owner_socket: Socket) -> None:
    with owner_socket as socket:
        socket.ws.send(b'{"type": "\xff"}', text=True)
        assert socket.close_code() == 1007


def test_too_many_messages_a_second_are_refused_then_closed_with_1008(owner_socket: Socket) -> None:
    with owner_socket as socket:
        with contextlib.suppress(ConnectionClosed):  # the server may close before the last one is sent
            for n in range(200):  # the default limit is 20 a second, 40 at once
                socket.send({"type": "Multiply", "id": n, "x": 1, "y": 2})
        assert socket.close_code() == 1008
        codes = [frame.get("code") for frame in socket.pushes if frame["type"] == "Error"]
        assert codes == ["rate_limited"]
        assert 30 <= sum(1 for frame in socket.pushes if frame["type"] == "Output") <= 45


def test_a_push_comes_after_the_reply_and_has_no_id(owner_socket: Socket) -> None:
    with owner_socket as socket:
        socket.send({"type": "Echo", "id": "e", "value": 1.5})
        assert socket.recv() == {"type": "Output", "id": "e", "value": 1.5}
        assert socket.recv() == {"type": "Output", "value": 3.0}
