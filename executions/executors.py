"""Executors of the built-in task types. Each takes a TaskContext and returns Done, Fail or Park."""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.values import parse_number
from executions.engine import Done, Fail, Park, TaskContext
from executions.services import start_child_execution
from workflows.registry import get_task_type
from workflows.templating import TemplateError, bare_expression, evaluate, render

MAX_HTTP_BODY_BYTES = 1024 * 1024  # outputs are stored in the database; keep them bounded
MAX_GROUP_CONCURRENCY = 16
MAX_GROUP_ITEMS = 1000


def run_log(ctx: TaskContext):
    level = ctx.config.get("level", "info")
    message = ctx.config["message"]
    ctx.log(level, str(message))
    return Done(output={"message": str(message)})


def run_set(ctx: TaskContext):
    return Done(output=ctx.config["values"])


def run_response(ctx: TaskContext):
    value = ctx.config["value"]
    ctx.log("info", "Return value set.")
    return Done(output=value, return_value=value)


def run_fail(ctx: TaskContext):
    return Fail(str(ctx.config["message"]), retryable=False)


def run_condition(ctx: TaskContext):
    expression = ctx.config["if"]  # not rendered beforehand (a raw field): evaluated once, here
    if isinstance(expression, bool):
        result = expression
    else:
        result = bool(evaluate(bare_expression(expression), ctx.template_context))
    then, otherwise = ctx.config.get("then") or [], ctx.config.get("else") or []
    skipped = list(otherwise if result else then)
    ctx.log("info", f"Condition is {'true' if result else 'false'}" + (f"; skipping {', '.join(skipped)}." if skipped else "."))
    return Done(output={"result": result, "skipped": skipped}, skip=skipped)


# -- delay ---------------------------------------------------------------------------------------------
def run_delay(ctx: TaskContext):
    if "until" in ctx.config:
        until = ctx.config["until"]
        wake_at = until if isinstance(until, datetime) else parse_datetime(str(until))
        if wake_at is None:
            return Fail(f"'until' is not an ISO 8601 time: {until!r}", retryable=False)
        if timezone.is_naive(wake_at):
            wake_at = timezone.make_aware(wake_at, timezone.utc)
    else:
        seconds = ctx.config.get("seconds", 0)
        try:
            seconds = parse_number(seconds)
        except ValueError:
            return Fail(f"'seconds' must be a number, not {seconds!r}", retryable=False)
        wake_at = timezone.now() + timedelta(seconds=max(seconds, 0))
    if wake_at <= timezone.now():
        return Done(output={"woke_at": timezone.now().isoformat()})
    return Park(wake_at=wake_at, message=f"Delayed until {wake_at.isoformat()}")


# -- http ---------------------------------------------------------------------------------------------
class PrivateAddressRefused(Exception):
    pass


def check_public_host(host: str) -> None:
    """Refuse hosts that resolve to loopback, private, link-local, shared or reserved addresses."""
    if settings.FLOWGATE_HTTP_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise PrivateAddressRefused(f"cannot resolve {host!r}: {exc}") from None
    for info in infos:
        check_public_address(info[4][0], host)


def check_public_address(raw: str, host: str) -> None:
    """Refuse an address that is not globally reachable (also an IPv4 one inside an IPv6 address)."""
    if settings.FLOWGATE_HTTP_ALLOW_PRIVATE:
        return
    address = ipaddress.ip_address(raw.split("%")[0])
    embedded = (address.ipv4_mapped or address.sixtofour) if address.version == 6 else None
    for candidate in (address, embedded):
        # is_global also leaves out the shared range 100.64.0.0/10, where some clouds answer metadata.
        if candidate is not None and (not candidate.is_global or candidate.is_loopback or candidate.is_private
                                      or candidate.is_link_local or candidate.is_reserved
                                      or candidate.is_multicast or candidate.is_unspecified):
            raise PrivateAddressRefused(
                f"{host} resolves to {address}, a loopback, private or link-local address; "
                "set FLOWGATE_HTTP_ALLOW_PRIVATE=true to allow such targets."
            )


def connect_public(address, *args, **kwargs) -> socket.socket:
    """``socket.create_connection`` that refuses a peer the check would refuse.

    The name is resolved again when connecting; a DNS answer that changed since the check
    (rebinding to 127.0.0.1, say) is caught here, before anything is sent.
    """
    sock = socket.create_connection(address, *args, **kwargs)
    try:
        check_public_address(sock.getpeername()[0], address[0])
    except PrivateAddressRefused:
        sock.close()
        raise
    return sock


class PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = connect_public


class PublicHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = connect_public


class PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        # Through a proxy the peer is the proxy; the target was checked before.
        return self.do_open(http.client.HTTPConnection if req.has_proxy() else PublicHTTPConnection, req)


class PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        connection = http.client.HTTPSConnection if req.has_proxy() or req._tunnel_host else PublicHTTPSConnection
        return self.do_open(connection, req, context=self._context)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect could lead to a private address after the check; report it instead of following.
    def redirect_request(self, *args, **kwargs):
        return None


def public_opener() -> urllib.request.OpenerDirector:
    """A urllib opener for outside calls: no redirects, and only peers that ``check_public_address`` allows.

    Check the URL's host with ``check_public_host`` first; the opener checks the address it
    connects to again (DNS rebinding). The ``http`` task and webhook deliveries both use it.
    """
    return urllib.request.build_opener(NoRedirect, PublicHTTPHandler, PublicHTTPSHandler)


def run_http(ctx: TaskContext):
    config = ctx.config
    url = str(config["url"])
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return Fail(f"URL must be http:// or https:// with a host, not {url!r}", retryable=False)
    try:
        timeout = parse_number(config.get("timeout", 10), minimum=0)
    except ValueError:
        return Fail(f"'timeout' must be a number of seconds, not {config.get('timeout')!r}", retryable=False)
    try:
        check_public_host(parsed.hostname)
    except PrivateAddressRefused as exc:
        return Fail(f"Request refused: {exc}", retryable=False)
    method = str(config.get("method", "GET")).upper()
    headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
    body = config.get("body")
    data = None
    if body is not None and method not in ("GET", "HEAD"):
        if isinstance(body, dict | list):
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            data = str(body).encode()
    expected = config.get("expected_status") or list(range(200, 300))
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    opener = public_opener()
    ctx.log("info", f"{method} {url}")
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        response = exc
    except PrivateAddressRefused as exc:
        return Fail(f"Request refused: {exc}", retryable=False)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Fail(f"{method} {url} failed: {reason}")
    with response:
        status = response.status if hasattr(response, "status") else response.code
        raw = response.read(MAX_HTTP_BODY_BYTES + 1)
        response_headers = dict(response.headers.items())
    truncated = len(raw) > MAX_HTTP_BODY_BYTES
    text = raw[:MAX_HTTP_BODY_BYTES].decode("utf-8", errors="replace")
    parsed_body: Any = text
    if "json" in response_headers.get("Content-Type", "") and not truncated:
        try:
            parsed_body = json.loads(text)
        except ValueError:
            pass
    output = {"status": status, "headers": response_headers, "body": parsed_body}
    if status not in expected:
        ctx.log("warning", f"{method} {url} answered {status}")
        # 5xx and 429 are worth retrying; other statuses will not change on their own.
        return Fail(f"{method} {url} answered {status}, expected {format_statuses(expected)}",
                    retryable=status >= 500 or status == 429)
    ctx.log("info", f"{method} {url} answered {status}")
    return Done(output=output)


def format_statuses(statuses: list[int]) -> str:
    if statuses == list(range(200, 300)):
        return "2xx"
    return ", ".join(map(str, statuses))


# -- group ------------------------------------------------------------------------------------------------
def run_group(ctx: TaskContext):
    items = ctx.config["items"]
    if not isinstance(items, list):
        return Fail(f"'items' must render to a list, not {type(items).__name__}", retryable=False)
    if len(items) > MAX_GROUP_ITEMS:
        return Fail(f"'items' has {len(items)} entries; a group runs at most {MAX_GROUP_ITEMS}", retryable=False)
    try:
        concurrency = max(1, min(parse_number(ctx.config.get("concurrency", 4), integer=True), MAX_GROUP_CONCURRENCY))
    except ValueError:
        return Fail(f"'concurrency' must be a whole number, not {ctx.config.get('concurrency')!r}", retryable=False)
    sub_tasks = ctx.task["config"]["tasks"]

    def run_item(index: int, item: Any) -> dict:
        try:
            return _run_sub_dag(ctx, sub_tasks, index, item)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(run_item, range(len(items)), items))
    failures = [r["error"] for r in results if r.get("error")]
    output = {"results": [r["outputs"] for r in results], "count": len(items)}
    ctx.log("info", f"Group ran {len(items)} item(s) with concurrency {concurrency}; {len(failures)} failed.")
    if failures:
        return Fail("; ".join(failures[:5]), retryable=False)
    return Done(output=output)


def _run_sub_dag(ctx: TaskContext, sub_tasks: list[dict], index: int, item: Any) -> dict:
    """Run one item's sub-DAG in dependency order (inline, no parking types)."""
    outputs: dict[str, Any] = {}
    done: set[str] = set()
    remaining = list(sub_tasks)
    while remaining:
        ready = [t for t in remaining if set(t.get("depends_on") or []) <= done]
        if not ready:
            return {"outputs": outputs, "error": f"item {index}: the group's tasks have a dependency cycle"}
        for task in ready:
            remaining.remove(task)
            context = {**ctx.template_context, "item": item, "index": index,
                       "tasks": {**ctx.template_context["tasks"], **{n: {"output": o} for n, o in outputs.items()}}}
            try:
                config = render(task.get("config") or {}, context)
            except TemplateError as exc:
                return {"outputs": outputs, "error": f"item {index}, task {task['name']}: {exc}"}
            sub_ctx = TaskContext(execution=ctx.execution, task_run=ctx.task_run, task=task, config=config,
                                  template_context=context, logs=ctx.logs)
            try:
                outcome = get_task_type(task["type"]).get_executor()(sub_ctx)
            except Exception as exc:
                outcome = Fail(f"{exc.__class__.__name__}: {exc}")
            if isinstance(outcome, Fail):
                if task.get("skip_on_error"):
                    outputs[task["name"]] = None
                    done.add(task["name"])
                    continue
                return {"outputs": outputs, "error": f"item {index}, task {task['name']}: {outcome.message}"}
            outputs[task["name"]] = outcome.output if isinstance(outcome, Done) else None
            done.add(task["name"])
    return {"outputs": outputs, "error": None}


# -- subworkflow ----------------------------------------------------------------------------------------------
def run_subworkflow(ctx: TaskContext):
    child = start_child_execution(ctx, ctx.config["workflow"], ctx.config.get("input") or {})
    ctx.log("info", f"Started child execution {child.id}.")
    return Park(message=f"Waiting for child execution {child.id}")


def run_custom(function, ctx: TaskContext):
    """A deployment's Python callable: ``function(config, context)`` returns the output."""
    context = {**ctx.template_context, "log": ctx.log}
    result = function(ctx.config, context)
    return Done(output=result)
