"""What every log line carries: the execution and task run being worked on, the request being answered.

The engine (while it runs a task run) and the request middleware set a context; the ``context``
filter copies it onto each record, so the plain format can stay short and the JSON format
(``FLOWGATE_LOG_FORMAT=json``) gives one object per line with ``execution_id``, ``task_run_id``,
``request_id`` and ``route`` fields beside the message.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from config.around import AroundRequestMiddleware

# Fields a record may carry from the context; a line without one leaves it out.
CONTEXT_FIELDS = ("execution_id", "task_run_id", "request_id", "route")
_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("flowgate_log_context")
_NO_CONTEXT: dict[str, str] = {}
# Attributes every LogRecord has; anything else on a record was passed with ``extra=`` and is logged too.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


@contextlib.contextmanager
def log_context(**fields) -> Iterator[None]:
    """Add these fields (None values are left out) to every line logged inside the block, in this thread."""
    values = {k: str(v) for k, v in fields.items() if v is not None}
    token = _context.set({**_context.get(_NO_CONTEXT), **values})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copy the current context's fields onto the record (never overwriting one the call passed)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get(_NO_CONTEXT).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context's ids, any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


# A caller's own request id (X-Request-ID, from a proxy, say) is kept when it looks like one.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
# URL keywords that name an execution, across the surfaces (native, FlowSynx, Refold).
EXECUTION_KWARGS = ("execution_id", "executionId")


_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def route_label(match) -> str:
    """The URL pattern a request matched, readable: ``/api/v1/executions/<pk>/``, never the raw path.

    Routers' regular expressions lose their anchors and name their groups as path converters do.
    """
    if match is None:
        return "(unmatched)"
    route = match.route or match.view_name or ""
    route = _NAMED_GROUP.sub(lambda m: f"<{m.group(1)}>", route)
    route = route.replace("^", "").replace("$", "").replace("\\", "").replace("/?", "/")
    return "/" + route


class RequestContextMiddleware(AroundRequestMiddleware):
    """Every line logged while answering a request carries its ``request_id``, ``route`` and execution id."""

    def before(self, request):
        given = request.headers.get("X-Request-ID", "")
        fields = {"request_id": given if REQUEST_ID.match(given) else uuid.uuid4().hex}
        return _context.set({**_context.get(_NO_CONTEXT), **fields})

    def cleanup(self, token) -> None:
        _context.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # The context's dict was made by __call__ for this request alone: adding to it is seen by the view.
        fields = _context.get(None)
        if fields is None:  # called without __call__ (a test driving the hook alone)
            return None
        match = request.resolver_match
        if match is not None:
            fields["route"] = route_label(match)
            execution_id = next((view_kwargs[k] for k in EXECUTION_KWARGS if k in view_kwargs), None)
            if execution_id is None and "pk" in view_kwargs and (match.url_name or "").startswith("execution"):
                execution_id = view_kwargs["pk"]
            if execution_id is not None:
                fields["execution_id"] = str(execution_id)
        return None
