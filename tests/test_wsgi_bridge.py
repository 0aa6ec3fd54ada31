"""catfeeder.wsgi_bridge under uvicorn, over real sockets (app: tests/support/bridge_app.py)."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from catfeeder.testing import BASE_DIR, free_port, process_env, wait_until
from tests.support.bridge_app import LARGE_PARTS

pytestmark = pytest.mark.xdist_group("wsgi_bridge")  # one bridge server, set up once


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.support.bridge_app:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(argv, cwd=BASE_DIR, env=process_env(), stderr=subprocess.PIPE)
    try:
        wait_until(lambda: answers(port), timeout=20, what="uvicorn")
        yield port
    finally:
        server.terminate()
        server.wait(10)


def answers(port: int) -> bool:
    try:
        request("GET", port, "/nothing")
    except OSError:
        return False
    return True


def request(method: str, port: int, path: str, **kwargs: object) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, **kwargs)  # type: ignore[arg-type]
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def test_an_answer_arrives_whole_with_its_status_and_headers(port: int) -> None:
    response, body = request("POST", port, "/echo", body=b"x" * 500)
    assert response.status == 201
    assert response.getheader("Content-Type") == "application/octet-stream"
    assert response.getheader("X-Seen-Length") == "500"
    assert body == b"x" * 500


def test_a_chunked_body_reaches_the_app_whole_with_its_length(port: int) -> None:
    parts = [b"a" * 100, b"b" * 200, b"c" * 3]
    response, body = request("POST", port, "/echo", body=iter(parts), encode_chunked=True,
                             headers={"Transfer-Encoding": "chunked"})  # fmt: skip
    assert response.status == 201
    assert response.getheader("X-Seen-Length") == "303"
    assert body == b"".join(parts)


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_cap_is_413_without_reaching_the_app(port: int, chunked: bool) -> None:
    body: object = iter([b"z" * 600, b"z" * 600]) if chunked else b"z" * 1001
    headers = {"Transfer-Encoding": "chunked"} if chunked else {}
    response, answer = request("POST", port, "/echo", body=body, encode_chunked=chunked, headers=headers)
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    assert json.loads(answer)["detail"] == "The request body is over 1000 bytes."


def test_a_large_answer_is_streamed_and_closed_in_the_thread_that_made_it(port: int) -> None:
    response, body = request("GET", port, "/large")
    assert response.status == 200
    assert len(body) == LARGE_PARTS * 16384
    assert body[:16384] == b"A" * 16384
    assert body[-16384:] == bytes([65 + (LARGE_PARTS - 1) % 26]) * 16384
    # The bridge closes the iterable once the last part is written: the client may have it all first.
    wait_until(lambda: json.loads(request("GET", port, "/closings")[1]), timeout=10, what="the answer closed")
    assert json.loads(request("GET", port, "/closings")[1])[-1] == {"same_thread": True}


def test_the_environ_is_pep_3333s_and_underscored_header_names_are_dropped(port: int) -> None:
    headers = {"X-Feeder": "real", "X_Feeder": "smuggled", "Content-Type": "text/plain"}
    response, body = request("GET", port, "/environ?a=1&b=%C3%A9", headers=headers)
    environ = json.loads(body)
    assert environ["HTTP_X_FEEDER"] == "real"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert environ["CONTENT_LENGTH"] == "0"
    assert (environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["QUERY_STRING"]) == (
        "GET",
        "/environ",
        "a=1&b=%C3%A9",
    )
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
