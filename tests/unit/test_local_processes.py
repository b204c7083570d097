"""local/processes.py: the port check the run command makes before it starts anything."""

from __future__ import annotations

import socket

import pytest

from local.processes import PortTaken, check_port_free


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
