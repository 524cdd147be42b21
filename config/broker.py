"""The embedded default's broker: kombu's filesystem transport, with messages written atomically.

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

from kombu import transport as kombu_transport
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
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


def install() -> None:
    """Make ``filesystem://`` broker URLs use this transport (in every process that loads Celery)."""
    kombu_transport.TRANSPORT_ALIASES["filesystem"] = "config.broker:Transport"
