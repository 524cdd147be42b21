"""kombu transports with two fixes: atomic messages on the filesystem, and Redis reconnects that survive.

**Redis.** When the broker connection drops, the worker closes it and reconnects. Closing the
channel restores its unacknowledged messages, which needs a Redis client; if the transport has
already let go of its connection settings, kombu fails there with ``AttributeError: 'NoneType'
object has no attribute 'hostname'``, which the worker treats as unrecoverable: its main process
exits (seen within seconds of stopping Redis). Here that case raises ``redis.ConnectionError``
instead, a connection error that kombu ignores while closing, so the worker goes on to reconnect
with back-off. The messages it could not restore are not lost: Redis keeps them as unacknowledged
and redelivers them, and the sweeper re-sends from the database what is still due.

**Filesystem** (the embedded default's broker).

kombu's own ``_put`` creates the message file and only then writes the message into it, so a
worker polling the folder can pick up the file while it is still empty and die on
``JSONDecodeError`` (an unrecoverable error for the worker). Here the message is written to a
hidden temporary file in the same folder and renamed into place: a reader sees either nothing
or the whole message. Readers skip the temporary files, whose names do not end in
``.<queue>.msg``.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

import redis
from kombu import transport as kombu_transport
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put the message on ``queue``: write it to a temporary file, then rename it into place."""
        data = str_to_bytes(dumps(payload))
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{uuid.uuid4()}.partial")
        try:
            with open(partial, "wb", buffering=0) as f:
                f.write(data)
            os.replace(partial, final)
        except OSError as exc:
            try:
                os.remove(partial)
            except OSError:
                pass
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


class RedisChannel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:  # the connection is being torn down: there is nothing to reach
            raise redis.ConnectionError("The broker connection is closed; reconnecting.")
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(kombu_redis.Transport):
    Channel = RedisChannel


def install() -> None:
    """Make ``filesystem://`` and ``redis://`` broker URLs use these transports (in every process that loads Celery)."""
    kombu_transport.TRANSPORT_ALIASES["filesystem"] = "config.broker:Transport"
    kombu_transport.TRANSPORT_ALIASES["redis"] = "config.broker:RedisTransport"
    kombu_transport.TRANSPORT_ALIASES["rediss"] = "config.broker:RedisTransport"
