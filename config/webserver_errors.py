"""The web server's own refusals (a malformed header, a request line too long) as JSON API errors.

gunicorn refuses such requests before Django sees them, with an HTML page. ``gunicorn.conf.py``
calls ``answer_gunicorn_errors_in_json`` in each worker, so that those refusals answer in the error
shape of the surface at the request's path when gunicorn had read it (a bad header), or in the
native shape when it had not (a request line too long), like every other API error. Pages keep
gunicorn's own answer.
"""

from __future__ import annotations

import json
import threading

from django.http import HttpRequest
from gunicorn import util
from gunicorn.http.errors import ParseException
from gunicorn.http.message import Request
from rest_framework import exceptions

from config.errors import error_body, is_api_path, refusal_response

# The path of the request whose error the worker thread is answering (gthread workers answer in threads).
_answering = threading.local()

HINTS = {
    400: "Header names and values may hold visible characters, spaces and tabs only; remove control characters.",
    414: "Send a shorter URL: a cursor comes from a previous page's next_page or previous_page as it is.",
}


class WebServerRefusal(exceptions.APIException):
    def __init__(self, status_code: int, detail: str) -> None:
        self.status_code = status_code
        super().__init__(detail)


def error_answer(status_code: int, reason: str, message: str, path: str | None) -> tuple[bytes, str]:
    """The body and content type that answer the web server's refusal of a request to ``path``."""
    detail = f"{reason}: {message}. {HINTS.get(status_code, '')}".strip()
    if path and is_api_path(path):
        request = HttpRequest()
        request.method = "GET"
        request.path = request.path_info = path
        request.META = {"SERVER_NAME": "localhost", "SERVER_PORT": "80", "HTTP_ACCEPT": "application/json"}
        response = refusal_response(request, WebServerRefusal(status_code, detail))  # an API path: never None
        return response.content, response["Content-Type"]
    return json.dumps(error_body(detail)).encode(), "application/json"


_html_write_error = util.write_error


def _write_error(sock, status_int, reason, mesg) -> None:
    path = getattr(_answering, "path", None)
    if path is not None and not is_api_path(path):
        _html_write_error(sock, status_int, reason, mesg)
        return
    body, content_type = error_answer(status_int, reason, str(mesg), path)
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    util.write_nonblock(sock, head + body)


def _parse_keeping_the_request(self, unreader):
    """gunicorn's Request.parse; a refusal raised after the request line was read carries the request."""
    try:
        return _parse(self, unreader)
    except ParseException as exc:
        if getattr(exc, "req", None) is None and self.path is not None:
            exc.req = self
        raise


_parse = Request.parse


def answer_gunicorn_errors_in_json(worker) -> None:
    """gunicorn's ``post_worker_init`` hook: the worker answers its refusals as ``error_answer`` says."""
    util.write_error = _write_error
    Request.parse = _parse_keeping_the_request
    handle_error = worker.handle_error

    def handle_error_knowing_the_path(req, client, addr, exc):
        request = req or getattr(exc, "req", None)
        _answering.path = getattr(request, "path", None)
        try:
            handle_error(req, client, addr, exc)
        finally:
            _answering.path = None

    worker.handle_error = handle_error_knowing_the_path
