"""Rate limits: per API key or user, and per address for anonymous callers.

Requests are counted in fixed windows (``6000/min``: at most 6000 in each clock minute). With the
cache on Redis (production), one pipelined round trip (INCR, EXPIRE) counts a request for every
web process at once; otherwise (the embedded default, tests) the default cache counts it. When
Redis cannot be reached, counting falls back to a limit per web process and says so in the log:
a Redis outage slows nothing down and refuses no request that the row-is-truth design can accept.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

from accounts.caller import Caller

logger = logging.getLogger("flowgate.throttling")

# Redis answers a counter in well under a millisecond; past this, count in the process instead.
REDIS_TIMEOUT_SECONDS = 0.25
# How often an unreachable Redis is tried again, and the outage logged.
RETRY_REDIS_SECONDS = 10.0


class WindowCounter:
    """Counts hits per key in fixed windows, on Redis when the cache is there, else in the default cache."""

    def __init__(self) -> None:
        self._client: redis.Redis | None = None
        self._location: str | None = None
        self._local = LocMemCache("flowgate-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
        self._down_until = 0.0
        self._lock = threading.Lock()

    def hit(self, key: str, window: int) -> tuple[int, float]:
        """Count one hit; answers the hits in the current window and the seconds until it ends."""
        now = time.time()
        window_start = int(now // window) * window
        bucket = f"throttle:{key}:{window_start}"
        remaining = window_start + window - now
        client = self._redis()
        if client is not None and now >= self._down_until:
            try:
                count, _ = client.pipeline(transaction=False).incr(bucket).expire(bucket, window + 1).execute()
                return int(count), remaining
            except redis.RedisError as exc:
                with self._lock:
                    self._down_until = now + RETRY_REDIS_SECONDS
                logger.warning("rate limits: Redis unreachable (%s); counting per web process for %.0f s",
                               exc.__class__.__name__, RETRY_REDIS_SECONDS)
        store = self._local if client is not None else cache
        store.add(bucket, 0, timeout=window + 1)
        try:
            return store.incr(bucket), remaining
        except ValueError:  # expired between add and incr
            store.set(bucket, 1, timeout=window + 1)
            return 1, remaining

    def _redis(self) -> redis.Redis | None:
        backend = settings.CACHES["default"]
        if not backend["BACKEND"].endswith("RedisCache"):
            return None
        location = backend["LOCATION"]
        if self._client is None or self._location != location:
            self._client = redis.Redis.from_url(location, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                                socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
            self._location = location
        return self._client


counter = WindowCounter()


class WindowRateThrottle(SimpleRateThrottle):
    """DRF's rate throttle, counting in fixed windows through ``counter``."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        count, self._wait = counter.hit(self.key, self.duration)
        return count <= self.num_requests

    def wait(self) -> float:
        return max(self._wait, 1.0)


class CallerRateThrottle(WindowRateThrottle):
    scope = "caller"

    def get_cache_key(self, request, view):
        caller = request.auth
        if not isinstance(caller, Caller):
            return None
        ident = f"key-{caller.api_key.pk}" if caller.api_key is not None else f"user-{caller.user_id}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(WindowRateThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, Caller):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class FailedAuthenticationThrottle(WindowRateThrottle):
    """Counts requests that bring no or bad credentials, per address, at the anonymous rate.

    DRF checks throttles only after authentication and permissions succeed, so without this a
    caller could guess keys or passwords at any speed.
    """

    scope = "anonymous"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": "failed-auth", "ident": self.get_ident(request)}


def check_failed_authentication(request) -> None:
    """Raise 429 when this address has brought bad or no credentials too often."""
    throttle = FailedAuthenticationThrottle()
    if not throttle.allow_request(request, None):
        raise Throttled(wait=throttle.wait())
