"""``python -m config.serve config.asgi:application [uvicorn's options]``: the web process.

uvicorn, with one change: the listening socket of a multi-worker server (``--workers 2``) is a
TCP socket that says so. uvicorn creates that socket without naming its protocol, and asyncio sets
``TCP_NODELAY`` only on accepted sockets that name it, so each answer of a multi-worker uvicorn
waited for the client's delayed acknowledgement: 40 ms of nothing per request on Linux. A
single-worker uvicorn binds differently and never had the delay.
"""

from __future__ import annotations

import importlib
import socket
import subprocess
import sys

import uvicorn

# The module, not the ``main`` function that ``uvicorn/__init__.py`` exports under the same name.
uvicorn_main = importlib.import_module("uvicorn.main")


class Config(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock = socket.socket(fileno=sock.detach())  # the same socket, its protocol read back: TCP
            sock.set_inheritable(True)
        return sock


# uvicorn's command line builds its server from this name.
uvicorn_main.Config = Config


def check_configuration() -> None:
    """Exit as ``config.cli.load_settings`` does (one line, status 2) when the settings are wrong."""
    checked = subprocess.run([sys.executable, "-c", "from config.cli import load_settings; load_settings()"],
                             check=False)
    if checked.returncode:
        raise SystemExit(checked.returncode)


if __name__ == "__main__":
    check_configuration()
    uvicorn_main.main()
