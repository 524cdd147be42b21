"""Flowgate's one settings module, configured by the environment.

Two ways to run:

* **Embedded default** (no ``DATABASE_URL``): SQLite in WAL mode and a filesystem Celery broker
  under ``FLOWGATE_HOME`` (``./var``). Needs no servers; ``DEBUG`` defaults to on.
* **Production** (``DATABASE_URL`` set): PostgreSQL and Redis. ``SECRET_KEY``,
  ``ALLOWED_HOSTS`` and ``CELERY_BROKER_URL`` must be set; ``DEBUG`` defaults to off.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_required, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
# Run from a checkout (manage.py beside the apps) or installed with `pip install .` (the apps, templates,
# static files and examples in site-packages, which is no place for data).
SOURCE_TREE = (BASE_DIR / "manage.py").is_file()
_default_home = BASE_DIR / "var" if SOURCE_TREE else Path(
    os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "flowgate"
FLOWGATE_HOME = Path(env_str("FLOWGATE_HOME", str(_default_home))).expanduser().resolve()
try:
    # Every process writes here (beat its schedule, all of them their metrics), in either way to run.
    FLOWGATE_HOME.mkdir(parents=True, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(f"FLOWGATE_HOME ({FLOWGATE_HOME}) cannot be created: {exc.strerror}.") from None
# Notices about the configuration that each process logs once when it starts (config.apps).
CONFIG_NOTICES: list[str] = []

DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED = DATABASE_URL is None

DEBUG = env_bool("DEBUG", default=EMBEDDED)

if EMBEDDED:
    # A fixed key is acceptable only for the embedded default, which binds to loopback.
    SECRET_KEY = env_str("SECRET_KEY", "embedded-insecure-key-do-not-use-in-production")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    SECRET_KEY = env_required("SECRET_KEY")
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long in production.")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must list the host names Flowgate is served under (comma-separated)."
        )

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "config.apps.FlowgateConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Layers, lowest first (see README, Architecture): ground, definitions, the engine, then the
    # features above it, which register their task types and listen to the engine.
    "accounts",
    "workflows",
    "executions",
    "approvals",
    "records",
    "flowruns",
    "schedules",
    "webhooks",
]

MIDDLEWARE = [
    "config.metrics.MetricsMiddleware",
    "config.logs.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RefuseHostileRequestsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.FriendlyNotFoundMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
# Flowdash, Port and Refold paths have no trailing slash; never redirect them.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
if EMBEDDED:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("FLOWGATE_SQLITE_PATH", str(FLOWGATE_HOME / "flowgate.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock when a transaction starts, so the web and
                # worker processes queue for it (busy timeout) instead of failing with
                # "database is locked" when a read transaction later tries to write.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": env_str("FLOWGATE_SQLITE_TEST_PATH", str(FLOWGATE_HOME / "test.sqlite3"))},
        }
    }
else:
    parsed = urlparse(DATABASE_URL)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a postgresql:// URL, not {parsed.scheme or DATABASE_URL!r}."
        )
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
    # Parameters bound by the server: each statement keeps one text, which psycopg prepares after a few
    # runs, so PostgreSQL parses and plans the engine's and the API's repeated statements once per
    # connection instead of on every run.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = env_bool(
        "DATABASE_SERVER_SIDE_BINDING", default=True)
    # A database that does not answer (down, restarting, unreachable) fails a new connection after
    # this many seconds, so a request answers 503 in bounded time instead of hanging.
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 3, minimum=1)
    # A connection whose peer vanished without closing it (a dropped network link, a host that died)
    # is found dead by TCP keepalives after about idle + interval x count seconds, instead of the
    # kernel's two hours: its request fails (503) and the pool or the next request opens a new one.
    DATABASES["default"]["OPTIONS"].update({
        "keepalives": 1,
        "keepalives_idle": env_int("DATABASE_KEEPALIVE_IDLE", 30, minimum=1),
        "keepalives_interval": 10,
        "keepalives_count": 3,
    })
    if env_bool("DATABASE_POOL", default=False):
        # psycopg's pool replaces persistent connections; Django refuses both at once.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 1, minimum=0),
            "max_size": env_int("DATABASE_POOL_MAX", 10, minimum=1),
            # A request waits this long for a connection, then fails (503) instead of hanging.
            # (conn_health_checks above makes the pool check each connection before handing it out,
            # so one that a PostgreSQL restart dropped is replaced instead of failing its request.)
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 5, minimum=1),
        }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling) and Celery --------------------------------------------------------
if EMBEDDED:
    _default_broker = "filesystem://"
else:
    _default_broker = None
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", _default_broker)
if CELERY_BROKER_URL is None:
    raise ImproperlyConfigured("CELERY_BROKER_URL must be set in production (for example redis://redis:6379/0).")
if not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "filesystem://", "memory://", "amqp://")):
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL must be a redis:// URL (or filesystem:// for the embedded default), "
        f"not {CELERY_BROKER_URL!r}."
    )

if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = FLOWGATE_HOME / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        # The transport polls its folder; the default (1 s) would add up to a second per message.
        # Listing a local folder every 20 ms costs little and keeps a step's hand-over short.
        "polling_interval": 0.02,
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redelivery of unacknowledged messages; the sweeper recovers sooner than this.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60),
        # A broker that does not answer fails a connection attempt after this long (then back-off).
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
    }

CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "flowgate")
# Task events let Flower show every task's state; on by default with Redis.
CELERY_WORKER_SEND_TASK_EVENTS = env_bool("CELERY_WORKER_SEND_TASK_EVENTS",
                                          default=CELERY_BROKER_URL.startswith(("redis://", "rediss://")))
CELERY_TASK_SEND_SENT_EVENT = CELERY_WORKER_SEND_TASK_EVENTS
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery would turn every write to stdout or stderr into a WARNING line of its own (a traceback printed
# by a library became hundreds of one-fragment lines); the processes log through LOGGING below instead.
CELERY_WORKER_REDIRECT_STDOUTS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers and beat ride out a broker outage of any length: they reconnect with back-off (1 s, 2 s,
# ... at most Celery's interval maximum) and never give up, instead of exiting after 100 tries.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A task that is running when the broker connection drops goes on to the end: its outcome is written
# to the database, which is the truth; the redelivered message then finds the task done (every
# change is a guarded transition). Cancelling it would only make it run twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Celery's prefork pool, except that a pool process killed while the worker starts is replaced
# instead of stopping the worker (config/pool.py).
CELERY_WORKER_POOL = "config.pool:TaskPool"
# Sending a message while the broker is down fails after about half a second (three tries) instead
# of holding the request; the row is already committed and the sweeper sends it later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BEAT_SCHEDULE_FILENAME = str(FLOWGATE_HOME / "celerybeat-schedule")
# Celery's Django fix-up closes the worker's database connection around every task unless this is
# set; config.celery instead closes only unusable or expired ones, as Django does per request, so
# DATABASE_CONN_MAX_AGE keeps one connection per worker process.
CELERY_DB_REUSE_MAX = 2**31
CELERY_TIMEZONE = "UTC"

REDIS_URL = env_str("REDIS_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else None)
if REDIS_URL:
    # Fails open (config.cache): with Redis down a cache call answers as a miss within the time-outs.
    CACHES = {"default": {"BACKEND": "config.cache.FailOpenRedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/approvals/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- I18N, static -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["config.locale_formats"]  # times to the second on every page
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles" if SOURCE_TREE else FLOWGATE_HOME / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app folders when collectstatic has not run (embedded default, tests).
WHITENOISE_USE_FINDERS = True

# --- Security headers in production ----------------------------------------------------------
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not EMBEDDED)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not EMBEDDED)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Email -------------------------------------------------------------------------------------
# Without an SMTP host, mail is written to the log (standard output) instead of failing on every approval.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
if EMAIL_HOST is None:
    EMAIL_HOST = "localhost"
    if not EMBEDDED and EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend":
        CONFIG_NOTICES.append("EMAIL_HOST is not set: approval emails are written to standard output, not sent. "
                              "Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, ...) to send them.")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "flowgate@localhost")

# --- REST framework and OpenAPI -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerKeyAuthentication",
        "accounts.authentication.HeaderKeyAuthentication",
        "accounts.authentication.TenantBasicAuthentication",
        "accounts.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.HasTenantRole"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "config.parsers.FormParser",
        "config.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.CappedCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.openapi.CallerSchema",
    "EXCEPTION_HANDLER": "config.errors.native_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.throttling.CallerRateThrottle",
        "accounts.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "caller": env_str("FLOWGATE_THROTTLE_CALLER", "6000/min"),
        "anonymous": env_str("FLOWGATE_THROTTLE_ANON", "120/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # OPTIONS answers 405, as for any method an operation does not document: DRF's metadata would
    # describe serializers the surfaces do not have (and answered 500 on some).
    "DEFAULT_METADATA_CLASS": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Flowgate API",
    "DESCRIPTION": (
        "Workflow-execution server. Native API under /api/v1/, plus the Flowdash, Port, Refold, "
        "mindzie and FlowSynx execution APIs at their documented paths."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The docs pages load nothing from outside the server: no online validator badge, system fonts
    # (templates/drf_spectacular/redoc.html drops the web fonts), the assets from the sidecar package;
    # config/docs.py's Content-Security-Policy refuses whatever else (Redoc's logo from its CDN).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_UI_SETTINGS": {"theme": {"typography": {
        "fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        "headings": {"fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
        "code": {"fontFamily": "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"}}}},
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # The stream's operation first: the common answers are then added to it like to any other.
        "executions.api.streams.document_stream",
        "config.openapi.document_common_answers",
        "config.openapi.document_for_callers",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ExecutionStatusEnum": "executions.models.ExecutionStatus",
        "TaskRunStatusEnum": "executions.models.TaskRunStatus",
        "LogLevelEnum": "executions.models.LogLevel",
        "ApprovalStatusEnum": "approvals.models.ApprovalStatus",
        "RoleEnum": "accounts.models.Role",
        "FlowTypeEnum": "flowruns.models.FlowType",
        "FieldTypeEnum": "records.models.FieldType",
        "OverlapPolicyEnum": "schedules.models.OverlapPolicy",
        "CatchupPolicyEnum": "schedules.models.CatchupPolicy",
        "DeliveryStatusEnum": "webhooks.models.DeliveryStatus",
    },
}

# --- Flowgate ------------------------------------------------------------------------------------
FLOWGATE_BASE_URL = env_str("FLOWGATE_BASE_URL", "http://127.0.0.1:8000")
# Definition limits: validation refuses bigger workflows.
FLOWGATE_MAX_TASKS = env_int("FLOWGATE_MAX_TASKS", 200, minimum=1)
FLOWGATE_MAX_DEFINITION_BYTES = env_int("FLOWGATE_MAX_DEFINITION_BYTES", 256 * 1024, minimum=1024)
# What one template may make and take (workflows/templating.py): characters (or list and object items)
# in any one value it produces, and milliseconds per rendering, in the worker and the web process alike.
FLOWGATE_TEMPLATE_MAX_LENGTH = env_int("FLOWGATE_TEMPLATE_MAX_LENGTH", 4_000_000, minimum=1000)
FLOWGATE_TEMPLATE_TIME_LIMIT_MS = env_int("FLOWGATE_TEMPLATE_TIME_LIMIT_MS", 1000, minimum=10)
# Synchronous runs wait at most this long before answering 202 with the execution id.
FLOWGATE_MAX_SYNC_WAIT_SECONDS = env_int("FLOWGATE_MAX_SYNC_WAIT_SECONDS", 120, minimum=1)
FLOWGATE_SYNC_WAIT_DEFAULT_SECONDS = env_int("FLOWGATE_SYNC_WAIT_DEFAULT_SECONDS", 30, minimum=1)
# A running task holds a lease that its worker renews; an expired lease means the worker died.
FLOWGATE_TASK_LEASE_SECONDS = env_int("FLOWGATE_TASK_LEASE_SECONDS", 60, minimum=2)
# A worker that finishes a task goes on with the next ready one itself (no broker round trip), at
# most this many tasks and this many seconds per message; then the next task goes through the broker.
FLOWGATE_CHAIN_MAX_STEPS = env_int("FLOWGATE_CHAIN_MAX_STEPS", 100, minimum=0)
FLOWGATE_CHAIN_SECONDS = env_int("FLOWGATE_CHAIN_SECONDS", 10, minimum=0)
# A request that finds the database unreachable answers 503 with this Retry-After (seconds).
FLOWGATE_RETRY_AFTER_SECONDS = env_int("FLOWGATE_RETRY_AFTER_SECONDS", 5, minimum=1)
# Requests of one web process that may wait for their execution at once; keep it below the web
# process's threads (gunicorn --threads) so health checks and other requests always find one free.
FLOWGATE_SYNC_WAIT_SLOTS = env_int("FLOWGATE_SYNC_WAIT_SLOTS", 6, minimum=0)
# A synchronous wait is woken when its execution ends; it also reads the status this often (seconds).
FLOWGATE_SYNC_POLL_SECONDS = env_int("FLOWGATE_SYNC_POLL_SECONDS", 1, minimum=1)
# A queued execution or dispatched task whose message has not been picked up by then is re-sent.
FLOWGATE_REDISPATCH_AFTER_SECONDS = env_int("FLOWGATE_REDISPATCH_AFTER_SECONDS", 60, minimum=1)
FLOWGATE_SWEEP_INTERVAL_SECONDS = env_int("FLOWGATE_SWEEP_INTERVAL_SECONDS", 15, minimum=1)
FLOWGATE_DEFAULT_TASK_TIMEOUT_SECONDS = env_int("FLOWGATE_DEFAULT_TASK_TIMEOUT_SECONDS", 300, minimum=1)
# The http task refuses loopback, private and link-local targets unless this is on.
FLOWGATE_HTTP_ALLOW_PRIVATE = env_bool("FLOWGATE_HTTP_ALLOW_PRIVATE", default=EMBEDDED)
# Extra task types: "name=package.module:callable" entries, comma-separated.
FLOWGATE_TASK_TYPES = env_list("FLOWGATE_TASK_TYPES", [])
# Signed single-use links in approval emails that let the named approver decide without logging in.
FLOWGATE_APPROVAL_SIGNED_LINKS = env_bool("FLOWGATE_APPROVAL_SIGNED_LINKS", default=False)
FLOWGATE_APPROVAL_LINK_MAX_AGE_SECONDS = env_int("FLOWGATE_APPROVAL_LINK_MAX_AGE_SECONDS", 7 * 24 * 3600, minimum=60)
# Schedules: a due time the sweeper reaches within this many seconds is on time; a later one was
# missed (downtime) and follows the schedule's catch-up policy.
FLOWGATE_SCHEDULE_GRACE_SECONDS = env_int("FLOWGATE_SCHEDULE_GRACE_SECONDS", max(30, 2 * FLOWGATE_SWEEP_INTERVAL_SECONDS),
                                          minimum=1)
# Webhooks: one attempt's time-out; retries back off exponentially (with jitter) from the base to
# the maximum delay, until the window after the event has passed. A rotated secret keeps signing
# (beside the new one) for the grace period.
FLOWGATE_WEBHOOK_TIMEOUT_SECONDS = env_int("FLOWGATE_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
FLOWGATE_WEBHOOK_RETRY_BASE_SECONDS = env_int("FLOWGATE_WEBHOOK_RETRY_BASE_SECONDS", 10, minimum=1)
FLOWGATE_WEBHOOK_RETRY_MAX_SECONDS = env_int("FLOWGATE_WEBHOOK_RETRY_MAX_SECONDS", 3600, minimum=1)
FLOWGATE_WEBHOOK_RETRY_WINDOW_SECONDS = env_int("FLOWGATE_WEBHOOK_RETRY_WINDOW_SECONDS", 24 * 3600, minimum=1)
FLOWGATE_WEBHOOK_SECRET_GRACE_SECONDS = env_int("FLOWGATE_WEBHOOK_SECRET_GRACE_SECONDS", 24 * 3600, minimum=0)
# Live streams (GET /api/v1/executions/{id}/events): each web process reads new lines for all its
# streams this often; a line is sent once every line numbered before it has had this long to commit
# (PostgreSQL numbers rows before their transactions commit); a stream ends after the maximum
# (the client resumes with Last-Event-ID) and sends a keep-alive comment at the heartbeat.
FLOWGATE_STREAM_POLL_MS = env_int("FLOWGATE_STREAM_POLL_MS", 250, minimum=10)
FLOWGATE_STREAM_SETTLE_MS = env_int("FLOWGATE_STREAM_SETTLE_MS", 1000, minimum=0)
FLOWGATE_STREAM_MAX_SECONDS = env_int("FLOWGATE_STREAM_MAX_SECONDS", 3600, minimum=1)
FLOWGATE_STREAM_HEARTBEAT_SECONDS = env_int("FLOWGATE_STREAM_HEARTBEAT_SECONDS", 15, minimum=1)

# Retention: days a finished execution is kept when its tenant and workflow set no rule (0: forever),
# how often beat runs the purge and for how long at most, and where the purge archives what it removes
# (a directory or s3://bucket/prefix; empty: no archive).
FLOWGATE_RETENTION_DAYS = env_int("FLOWGATE_RETENTION_DAYS", 0, minimum=0)
FLOWGATE_PURGE_INTERVAL_SECONDS = env_int("FLOWGATE_PURGE_INTERVAL_SECONDS", 300, minimum=10)
FLOWGATE_PURGE_MAX_SECONDS = env_int("FLOWGATE_PURGE_MAX_SECONDS", 120, minimum=1)
FLOWGATE_RETENTION_ARCHIVE = env_str("FLOWGATE_RETENTION_ARCHIVE", "")
FLOWGATE_ARCHIVE_S3_ENDPOINT_URL = env_str("FLOWGATE_ARCHIVE_S3_ENDPOINT_URL", "")
FLOWGATE_ARCHIVE_S3_REGION = env_str("FLOWGATE_ARCHIVE_S3_REGION", "")

CELERY_BEAT_SCHEDULE = {
    "flowgate-sweep": {
        "task": "flowgate.sweep",
        "schedule": float(FLOWGATE_SWEEP_INTERVAL_SECONDS),
    },
    "flowgate-purge": {
        "task": "flowgate.purge",
        "schedule": float(FLOWGATE_PURGE_INTERVAL_SECONDS),
    },
}

# --- Metrics and logs ----------------------------------------------------------------------------
# GET /metrics (Prometheus) answers a request with this bearer token, or from one of these networks;
# with neither set it answers 404.
FLOWGATE_METRICS_TOKEN = env_str("FLOWGATE_METRICS_TOKEN", "")
FLOWGATE_METRICS_ALLOWED_NETWORKS = env_list("FLOWGATE_METRICS_ALLOWED_NETWORKS", [])
for _network in FLOWGATE_METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"FLOWGATE_METRICS_ALLOWED_NETWORKS: {_network!r} is not a network; write an "
                                   "address or a network, for example 10.0.0.0/8 or 192.0.2.7.") from None
# Counters and histograms of every Flowgate process on this host are kept in files here (prometheus_client's
# multiprocess mode): the web process's /metrics adds up the workers' and beat's (docs/deployment.md).
FLOWGATE_METRICS_DIR = Path(env_str("PROMETHEUS_MULTIPROC_DIR", str(FLOWGATE_HOME / "metrics")))
# Set before prometheus_client makes its first metric (config.metrics), in this process and its children.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(FLOWGATE_METRICS_DIR)
try:
    FLOWGATE_METRICS_DIR.mkdir(parents=True, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR ({FLOWGATE_METRICS_DIR}) cannot be created: "
                               f"{exc.strerror}.") from None

LOG_FORMAT = env_str("FLOWGATE_LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"FLOWGATE_LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
