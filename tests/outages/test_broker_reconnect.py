"""The worker's broker connection survives Redis going away (config/broker.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import redis
from kombu import Connection

from config.broker import RedisChannel, RedisTransport


def test_redis_urls_use_flowgates_transport():
    assert isinstance(Connection("redis://127.0.0.1:1/0").transport, RedisTransport)


def test_a_channel_closed_after_its_connection_raises_a_connection_error_kombu_ignores():
    channel = RedisChannel.__new__(RedisChannel)  # only the connection settings are read
    channel.connection = SimpleNamespace(client=None)  # the transport has let go of its connection
    with pytest.raises(redis.ConnectionError):
        channel._connparams()
    # A connection error, which kombu ignores while closing a channel (not AttributeError, which
    # stopped the worker as an unrecoverable error).
    assert redis.ConnectionError in RedisTransport.connection_errors
