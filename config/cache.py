"""The Redis cache, failing open: a Redis outage reads as a cache miss, never as a failed request.

Flowgate keeps nothing in its cache that a request cannot do without (rate-limit windows have their
own fallback, ``accounts.throttling``; the rest are hints such as "recounted recently"). Django's
``RedisCache`` raises ``redis.ConnectionError`` on every call while Redis is down, which failed
whichever request touched it; here each call answers as a miss does (``get`` its default, ``add``
False, ``set`` nothing) and the outage is logged once per ``config.outages.LOG_EVERY_SECONDS``, not
per request.
"""

from __future__ import annotations

import functools
import logging

import redis
from django.core.cache.backends.redis import RedisCache

from config.outages import OutageLog, first_line

logger = logging.getLogger("flowgate.cache")

outage_log = OutageLog()


def log_outage(exc: Exception) -> None:
    if outage_log.due() is not None:
        logger.warning("cache: Redis unreachable (%s: %s); answering as a cache miss", exc.__class__.__name__,
                       first_line(exc))


def _fail_open(miss):
    """Wrap a cache method: on a Redis error, log it (at most every few seconds) and answer ``miss(...)``."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except redis.RedisError as exc:
                log_outage(exc)
                return miss(*args, **kwargs)

        return wrapper

    return decorate


def _default(key, default=None, *args, **kwargs):
    return default


def _nothing(*args, **kwargs):
    return None


def _false(*args, **kwargs):
    return False


def _empty(*args, **kwargs):
    return {}


def _all_keys(data, *args, **kwargs):
    return list(data)  # set_many answers the keys it could not set


class FailOpenRedisCache(RedisCache):
    get = _fail_open(_default)(RedisCache.get)
    add = _fail_open(_false)(RedisCache.add)
    set = _fail_open(_nothing)(RedisCache.set)
    touch = _fail_open(_false)(RedisCache.touch)
    delete = _fail_open(_false)(RedisCache.delete)
    has_key = _fail_open(_false)(RedisCache.has_key)
    get_many = _fail_open(_empty)(RedisCache.get_many)
    set_many = _fail_open(_all_keys)(RedisCache.set_many)
    delete_many = _fail_open(_nothing)(RedisCache.delete_many)
    clear = _fail_open(_false)(RedisCache.clear)
