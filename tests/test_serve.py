"""The web process: its listening socket says it is TCP, and a configuration error stops it with one line."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config.serve import Config

ROOT = Path(__file__).resolve().parent.parent
# Production settings without SECRET_KEY: every entry point must stop with one line, exit status 2.
NO_SECRET = {"DATABASE_URL": "postgresql://flowgate:pw@127.0.0.1:9/flowgate",
             "CELERY_BROKER_URL": "redis://127.0.0.1:9/0", "ALLOWED_HOSTS": "flowgate.example.com"}


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("server", [
    [sys.executable, "-m", "config.serve", "config.asgi:application", "--workers", "2", "--host", "127.0.0.1"],
    [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "config.wsgi:application", "-b"],
], ids=["uvicorn", "gunicorn"])
def test_a_multi_worker_server_stops_on_a_configuration_error_with_one_line(server, tmp_path):
    """Not a worker exiting at its import and started again forever: the server itself stops."""
    port = free_port()
    command = [*server, f"127.0.0.1:{port}"] if server[-1] == "-b" else [*server, "--port", str(port)]
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
                   "FLOWGATE_HOME": str(tmp_path / "home"), **NO_SECRET}
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: SECRET_KEY must be set in the environment (or SECRET_KEY_FILE must name a file "
                      "holding it)."]
    assert "Traceback" not in result.stderr
