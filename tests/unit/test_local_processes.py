"""local/processes.py: the port check the run command makes before it starts anything."""

from __future__ import annotations

import socket

import pytest

from local.processes import LogRedactor, PortTaken, check_port_free


def port_in_time_wait() -> int:
    """A port whose server closed a connection first and then stopped: only a TIME_WAIT socket is left."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = int(server.getsockname()[1])
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()  # the server's side closes first, so its port goes to TIME_WAIT
            client.recv(1)
    return port


def test_a_port_left_in_time_wait_by_a_stopped_server_is_free():
    port = port_in_time_wait()

    check_port_free(port, "API")


def test_a_port_something_listens_on_is_taken():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        with pytest.raises(PortTaken, match=f"port {port} for the API is taken"):
            check_port_free(port, "API")


SHAPES = {
    "share link": (b'"GET /s/q1W2e3R4t5Y6u7I8o9P0-_aSdF HTTP/1.1" 200 -', b"q1W2e3R4t5Y6u7I8o9P0-_aSdF"),
    "SigV4 signature": (b"PUT /b/k?X-Amz-Date=20261201T000000Z&X-Amz-Signature=0123abcd HTTP/1.1", b"0123abcd"),
    "credential": (b"GET /b/k?X-Amz-Credential=AKIAEXAMPLE%2F20261201&X-Amz-Expires=300", b"AKIAEXAMPLE"),
    "V2 signature": (b"GET /b/k?AWSAccessKeyId=AKIAEXAMPLE&Expires=1&Signature=dGVzdA%3D%3D", b"dGVzdA"),
    "bearer token": (b"Authorization: Bearer gw-01.s3cr3tpart", b"s3cr3tpart"),
    "password in JSON": (b'{"USERNAME": "dpo-birzai", "PASSWORD": "hunter2-long"}', b"hunter2-long"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_secret_shape_is_redacted_and_what_the_line_is_about_kept(shape):
    line, secret = SHAPES[shape]

    redacted = LogRedactor()(line)

    assert secret not in redacted
    assert b"[redacted]" in redacted
    assert redacted[:8] == line[:8]


def test_a_secret_the_stack_made_is_redacted_wherever_it_shows():
    redactor = LogRedactor()
    redactor.add("Demo-Password-2026", "")

    redacted = redactor(b"botocore: NotAuthorizedException for user x with Demo-Password-2026 (traceback)")

    assert redacted == b"botocore: NotAuthorizedException for user x with [redacted] (traceback)"
