import socket

import pytest


def test_network_outside_loopback_fails_in_tests() -> None:
    with socket.socket() as sock, pytest.raises(RuntimeError, match="outside loopback"):
        sock.connect(("203.0.113.7", 80))  # TEST-NET-3: never actually contacted


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
