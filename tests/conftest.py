"""Shared fixtures: personas, API clients, eager Celery, and a real Celery worker process.

Personas (tenant A unless stated):
* ``alice``  - admin of A: may do everything in A.
* ``walter`` - workflow role in A: may start, cancel and retry executions and edit workflows.
* ``april``  - approver in A: may read, and decide approvals she is named on.
* ``victor`` - viewer in A: may only read.
* ``oscar``  - admin of tenant B: an outsider who must never see A's objects (404).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import override_settings

from accounts.models import Role
from config.celery import app as celery_app
from executions.streams import close_connection as close_stream_connection
from executions.waiters import listener
from tests.accounts.factories import PASSWORD, ApiKeyFactory, ProjectFactory, TenantFactory, UserFactory
from tests.support import openapi
from tests.support.clients import APIClient, Client
from workflows.registry import task_types

ROOT = Path(__file__).resolve().parent.parent
TEST_TASK_TYPES = [
    "sleep=tests.support.tasks:sleep",
    "flaky=tests.support.tasks:flaky",
    "echo=tests.support.tasks:echo",
]


def services_required() -> bool:
    return os.environ.get("FLOWGATE_REQUIRE_SERVICES", "").lower() in ("1", "true", "yes")


def on_postgres() -> bool:
    return django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def redis_broker() -> str | None:
    url = django_settings.CELERY_BROKER_URL
    return url if url.startswith("redis") else None


# Why a test must fail for a missing server (only with FLOWGATE_REQUIRE_SERVICES).
_MISSING_SERVICE = pytest.StashKey[str]()


def pytest_collection_modifyitems(config, items):
    """Skip (or, with FLOWGATE_REQUIRE_SERVICES, fail) tests whose server is missing."""
    missing = []
    if not on_postgres():
        missing.append("postgres")
    if redis_broker() is None:
        missing.append("redis")
    for item in items:
        for marker in missing:
            # Markers only: item.keywords also holds test names and parameter ids ("postgres").
            if item.get_closest_marker(marker) is not None:
                reason = f"needs {marker.capitalize()} (run `make test` where it is installed)"
                if services_required():
                    # A failure, not an xfail: an xfail would let the run pass without the service.
                    item.stash[_MISSING_SERVICE] = f"FLOWGATE_REQUIRE_SERVICES is set but this test {reason}"
                else:
                    item.add_marker(pytest.mark.skip(reason=reason))
                break


def pytest_runtest_setup(item):
    reason = item.stash.get(_MISSING_SERVICE, None)
    if reason is not None:
        pytest.fail(reason, pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _test_task_types():
    # A per-process cache: throttle counters never leak between tests through a shared Redis.
    locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(FLOWGATE_TASK_TYPES=TEST_TASK_TYPES, FLOWGATE_HTTP_ALLOW_PRIVATE=False, CACHES=locmem):
        task_types.cache_clear()
        yield
    task_types.cache_clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database; synchronous waits listen for executions' ends on a connection
    of their own, as live streams do: both are closed before the database is dropped."""
    yield
    listener.stop()
    close_stream_connection()


@pytest.fixture(autouse=True)
def eager_celery(request, settings):
    """Unit tests run Celery tasks in-process; tests marked e2e use the real worker instead."""
    if "e2e" in request.keywords:
        yield False
        return
    settings.CELERY_TASK_ALWAYS_EAGER = True
    celery_app.conf.task_always_eager = True
    try:
        yield True
    finally:
        celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters start at zero in every test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _openapi_document(_test_task_types):
    """The document responses are checked against, generated before any test can patch a view."""
    openapi.openapi_document()


@pytest.fixture(autouse=True)
def _openapi_exemptions(request):
    """Operations a test marks ``openapi_exempt`` are not checked against the document in that test."""
    markers = list(request.node.iter_markers("openapi_exempt"))
    if any(not marker.kwargs.get("reason") for marker in markers):
        pytest.fail("openapi_exempt needs a reason: why may this operation answer what it does not document?",
                    pytrace=False)
    openapi.exempt_operations = {marker.args[0] for marker in markers}
    yield
    openapi.exempt_operations = set()


@pytest.fixture(autouse=True)
def _fast_hasher_and_mail(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


# -- tenants and personas ---------------------------------------------------------------------------
@pytest.fixture
def tenant_a(db):
    return TenantFactory(name="Acme", slug="acme")


@pytest.fixture
def project_a(tenant_a):
    """Tenant A's only project."""
    return ProjectFactory(tenant=tenant_a, name="Main", slug="main")


@pytest.fixture
def tenant_b(db):
    return TenantFactory(name="Globex", slug="globex")


@pytest.fixture
def project_b(tenant_b):
    return ProjectFactory(tenant=tenant_b, name="Other", slug="other")


@pytest.fixture
def alice(tenant_a, project_a):
    """Admin of A: may do everything in A."""
    return UserFactory(username="alice", tenant=tenant_a, role=Role.ADMIN)


@pytest.fixture
def walter(tenant_a, project_a):
    """Workflow role in A: may start, cancel and retry executions and edit workflows."""
    return UserFactory(username="walter", tenant=tenant_a, role=Role.WORKFLOW)


@pytest.fixture
def april(tenant_a, project_a):
    """Approver in A: may read, and decide approvals she is named on."""
    return UserFactory(username="april", tenant=tenant_a, role=Role.APPROVER)


@pytest.fixture
def victor(tenant_a, project_a):
    """Viewer in A: may only read."""
    return UserFactory(username="victor", tenant=tenant_a, role=Role.VIEWER)


@pytest.fixture
def oscar(tenant_b, project_b):
    """Admin of tenant B: an outsider who must never see A's objects (404)."""
    return UserFactory(username="oscar", tenant=tenant_b, role=Role.ADMIN)


def key_client(tenant, role, project=None, header="bearer") -> APIClient:
    """A client sending a new API key of ``tenant`` (``Authorization: Bearer``, or ``x-api-key``)."""
    key = ApiKeyFactory(tenant=tenant, role=role, project=project)
    client = APIClient()
    if header == "bearer":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    else:
        client.credentials(HTTP_X_API_KEY=key.secret)
    client.secret = key.secret
    return client


@pytest.fixture
def admin_api(tenant_a, project_a):
    """A client with an admin key of tenant A."""
    return key_client(tenant_a, Role.ADMIN)


@pytest.fixture
def workflow_api(tenant_a, project_a):
    """A client with a workflow-role key of tenant A."""
    return key_client(tenant_a, Role.WORKFLOW)


@pytest.fixture
def viewer_api(tenant_a, project_a):
    """A client with a viewer key of tenant A: reads only."""
    return key_client(tenant_a, Role.VIEWER)


@pytest.fixture
def approver_api(tenant_a, project_a):
    return key_client(tenant_a, Role.APPROVER)


@pytest.fixture
def outsider_api(tenant_b, project_b):
    """An admin key of tenant B: must get 404 for everything of tenant A."""
    return key_client(tenant_b, Role.ADMIN)


@pytest.fixture
def user_api():
    """``user_api(user)``: a client logged in with HTTP Basic as that user."""

    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=basic_header(user.username, PASSWORD))
        return client

    return make


@pytest.fixture
def client():
    """Django's test client, checking API responses against the OpenAPI document."""
    return Client()


@pytest.fixture
def admin_user(db):
    """An operator: a superuser called admin, in no tenant."""
    return UserFactory(username="admin", is_superuser=True)


@pytest.fixture
def admin_client(admin_user):
    """Django's test client signed in as ``admin_user``."""
    client = Client()
    client.force_login(admin_user)
    return client


def basic_header(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


# -- a real Celery worker ------------------------------------------------------------------------------
def worker_env(**extra) -> dict[str, str]:
    """Environment for a worker process that shares the test database and queue."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "FLOWGATE_TASK_TYPES": ",".join(TEST_TASK_TYPES),
        "CELERY_TASK_DEFAULT_QUEUE": celery_app.conf.task_default_queue,
        "FLOWGATE_HTTP_ALLOW_PRIVATE": "true",
        "PYTHONPATH": str(ROOT),
    })
    if on_postgres():
        env["DATABASE_URL"] = (f"postgresql://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
                               f"{db['PORT'] or 5432}/{db['NAME']}")
    env.update({k: str(v) for k, v in extra.items()})
    return env


class WorkerProcess:
    """A ``celery worker`` subprocess; ``stop()`` ends it, ``kill()`` sends SIGKILL."""

    def __init__(self, concurrency: int = 2, **env) -> None:
        self.log_path = Path(os.environ.get("FLOWGATE_TEST_OUTPUT", ROOT / "test-output")) / f"worker-{uuid.uuid4().hex[:8]}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--pool=prefork",
             f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"test-{uuid.uuid4().hex[:8]}@%h"],
            cwd=ROOT, env=worker_env(**env), stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early: {self.log_path.read_text()[-3000:]}")
            if "ready." in self.log_path.read_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout}s: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        import signal

        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="session")
def worker_queue():
    """A queue of this test session's own, so parallel runs never take each other's messages."""
    name = f"flowgate-test-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = name
    return name


@pytest.fixture
def start_worker(worker_queue, transactional_db):
    """``start_worker(**env)`` starts a real worker of this test's own on Redis and PostgreSQL.

    Its workers are stopped after the test.
    """
    if redis_broker() is None or not on_postgres():
        if services_required():
            pytest.fail("FLOWGATE_REQUIRE_SERVICES is set but a real worker needs PostgreSQL and Redis", pytrace=False)
        pytest.skip("a real worker needs PostgreSQL and Redis")
    # The workers of this test listen on a queue of their own: the session's shared worker
    # (``live_worker``) must not take their messages, or killing them would prove nothing.
    celery_app.conf.task_default_queue = f"{worker_queue}-{uuid.uuid4().hex[:8]}"
    workers: list[WorkerProcess] = []

    def start(concurrency: int = 2, **env) -> WorkerProcess:
        worker = WorkerProcess(concurrency=concurrency, **env)
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        celery_app.conf.task_default_queue = worker_queue
        for worker in workers:
            worker.stop()


@pytest.fixture(scope="session")
def _session_worker(worker_queue, django_db_setup, django_db_blocker):
    """One real worker with two processes, shared by the tests of a session (it holds no state)."""
    if redis_broker() is None or not on_postgres():
        yield None
        return
    with django_db_blocker.unblock():
        worker = WorkerProcess(concurrency=2)
    yield worker
    worker.stop()


@pytest.fixture
def live_worker(_session_worker, transactional_db):
    """The shared real worker; tests using it need ``django_db(transaction=True)``."""
    if _session_worker is None:
        if services_required():
            pytest.fail("FLOWGATE_REQUIRE_SERVICES is set but a real worker needs PostgreSQL and Redis", pytrace=False)
        pytest.skip("a real worker needs PostgreSQL and Redis")
    if _session_worker.process.poll() is not None:
        pytest.fail(f"the shared worker died: {_session_worker.log_path.read_text()[-2000:]}")
    return _session_worker


def wait_until(predicate, timeout: float = 30, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; fail with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def web(live_worker):
    """``uvicorn config.asgi:application`` on a free port, on the test database (as ``make run`` serves).

    Answers the port; the shared real worker runs what it starts.
    """
    port = free_port()
    log_path = Path(os.environ.get("FLOWGATE_TEST_OUTPUT", ROOT / "test-output")) / f"uvicorn-{uuid.uuid4().hex[:8]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "config.serve", "config.asgi:application", "--port", str(port), "--workers", "1",
               "--timeout-graceful-shutdown", "1"]
    with serving(command, port, log_path, FLOWGATE_STREAM_POLL_MS="100"):
        yield port


@contextlib.contextmanager
def serving(command: list[str], port: int, log_path: Path, **variables: str):
    """Run a web server ``command`` on the test database until ``/healthz`` on ``port`` answers; stop it after."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=worker_env(ALLOWED_HOSTS="127.0.0.1,localhost", **variables),
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def up() -> bool:
        try:
            return http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/healthz") or True
        except OSError:
            return process.poll() is not None

    try:
        wait_until(up, timeout=60, interval=0.2)
        assert process.poll() is None, log_path.read_text()[-3000:]
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
