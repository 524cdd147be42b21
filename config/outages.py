"""An outage logged once per interval per process, not once per request or message that it fails."""

from __future__ import annotations

import threading
import time

# While a dependency is down every request or message that needs it fails: one line per this long.
LOG_EVERY_SECONDS = 10.0


class OutageLog:
    """Decides when an outage is logged: at most once per ``every`` seconds, counting the quiet ones."""

    def __init__(self, every: float = LOG_EVERY_SECONDS) -> None:
        self.every = every
        self._lock = threading.Lock()
        self._next = 0.0
        self._quiet = 0

    def due(self) -> int | None:
        """None while it stays quiet; else how many failures went unlogged since the last line."""
        now = time.monotonic()
        with self._lock:
            if now < self._next:
                self._quiet += 1
                return None
            quiet, self._quiet, self._next = self._quiet, 0, now + self.every
        return quiet


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its class name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
