"""The web process's listening socket is a TCP socket that says so, so that its answers leave at once."""

import socket

from config.serve import Config


def test_the_multi_worker_socket_names_its_protocol_so_accepted_sockets_get_tcp_nodelay():
    sock = Config(app="config.asgi:application", host="127.0.0.1", port=0, workers=2).bind_socket()
    try:
        assert (sock.family, sock.proto) == (socket.AF_INET, socket.IPPROTO_TCP)
        sock.listen()
        client = socket.create_connection(sock.getsockname())
        accepted, _ = sock.accept()
        # What asyncio checks before it sets TCP_NODELAY on an accepted socket.
        assert accepted.proto == socket.IPPROTO_TCP
        accepted.close()
        client.close()
    finally:
        sock.close()
