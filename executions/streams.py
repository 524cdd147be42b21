"""Live streams of executions: status changes, task-run transitions and log lines, in order.

Everything a stream sends is a ``Log`` row (the engine marks the line of each status change with
its ``event``), so the row's bigint id orders the stream and is its SSE event id: a client that
reconnects with ``Last-Event-ID`` gets every row after it, none twice.

One ``Hub`` per web process reads the new rows of every execution its streams watch with one
query per tick (``FLOWGATE_STREAM_POLL_MS``), however many streams are open, and hands each
stream its rows. Nothing is added to the engine's steps: an execution nobody watches costs nothing.

On PostgreSQL a row's id is drawn when it is inserted, before its transaction commits, so a
lower id can become visible after a higher one. The hub therefore reads only ids up to a
*settled* mark: the sequence's value ``FLOWGATE_STREAM_SETTLE_MS`` ago, by which time the
transactions that drew lower ids (the engine's are milliseconds long) have committed. SQLite
commits one transaction at a time, in id order, and needs no mark.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q

from executions.models import Log

# What a stream sends of each row.
ROW_FIELDS = ("id", "uuid", "execution_id", "task_run_id", "task_run__name", "level", "message", "exception",
              "timestamp", "event")
# Rows read per query; a busier tick goes on at the next one.
READ_BATCH = 1000
UNBOUNDED = None


def settled_on_commit_order() -> bool:
    """Whether ids become visible in order (SQLite: one writer at a time), so no settling is needed."""
    return connection.vendor != "postgresql"


def sequence_value() -> int:
    """The last id drawn for a log row (committed or not)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, 'id'))", [Log._meta.db_table])
        value = cursor.fetchone()[0]
    return int(value or 0)


def read_rows(after: dict, upto: int | None, limit: int = READ_BATCH) -> list[dict]:
    """Rows of the executions in ``after`` ({execution id: last id sent}) with ids up to ``upto``, by id."""
    if not after:
        return []
    condition = Q()
    for execution_id, last in after.items():
        condition |= Q(execution_id=execution_id, id__gt=last)
    rows = Log.objects.filter(condition)
    if upto is not UNBOUNDED:
        rows = rows.filter(id__lte=upto)
    return list(rows.order_by("id").values(*ROW_FIELDS)[:limit])


class Hub:
    """Reads new rows for every watched execution, once per tick, and queues them for the streams."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue]] = {}
        self._cursors: dict[str, int] = {}
        self._marks: deque[tuple[float, int]] = deque()
        self._settled: int | None = None
        self._waiting = 0  # streams waiting for the first settled mark
        self._task: asyncio.Task | None = None

    async def call(self, function, *args):
        return await sync_to_async(_with_connection(function), thread_sensitive=False, executor=_executor)(*args)

    async def watermark(self) -> int | None:
        """The id up to which rows are settled now (None: all are, on SQLite); waits for the first mark."""
        if await self.call(settled_on_commit_order):
            return UNBOUNDED
        self._waiting += 1
        try:
            self._ensure_running()
            while self._settled is None:
                await asyncio.sleep(settings.FLOWGATE_STREAM_POLL_MS / 1000)
            return self._settled
        finally:
            self._waiting -= 1

    def subscribe(self, execution_id: str, sent: int) -> tuple[asyncio.Queue, int]:
        """A queue of the execution's rows after the hub's cursor, which is answered; rows up to it
        that the stream has not sent (after ``sent``) it reads itself."""
        queue: asyncio.Queue = asyncio.Queue()
        self._queues.setdefault(execution_id, set()).add(queue)
        cursor = self._cursors.setdefault(execution_id, sent)
        self._ensure_running()
        return queue, cursor

    def unsubscribe(self, execution_id: str, queue: asyncio.Queue) -> None:
        queues = self._queues.get(execution_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[execution_id]
                self._cursors.pop(execution_id, None)

    @property
    def watched(self) -> int:
        return len(self._queues)

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        unordered = not await self.call(settled_on_commit_order)
        while True:
            if unordered:
                self._mark(await self.call(sequence_value))
            elif not self._queues and not self._waiting:
                return
            if self._queues and (self._settled is not None or not unordered):
                await self._tick(self._settled if unordered else UNBOUNDED)
            if not self._queues and not self._waiting and self._settled is not None:
                # Nobody watches: stop; the next stream starts the hub (and its marks) again.
                self._marks.clear()
                self._settled = None
                return
            await asyncio.sleep(settings.FLOWGATE_STREAM_POLL_MS / 1000)

    def _mark(self, value: int) -> None:
        now = time.monotonic()
        self._marks.append((now, value))
        settle = settings.FLOWGATE_STREAM_SETTLE_MS / 1000
        while self._marks and self._marks[0][0] <= now - settle:
            self._settled = self._marks.popleft()[1]

    async def _tick(self, upto: int | None) -> None:
        snapshot = dict(self._cursors)
        rows = await self.call(read_rows, snapshot, upto)
        truncated = len(rows) == READ_BATCH
        reached = rows[-1]["id"] if truncated else upto
        for row in rows:
            execution_id = str(row["execution_id"])
            for queue in self._queues.get(execution_id, ()):
                queue.put_nowait(row)
            if execution_id in self._cursors:
                self._cursors[execution_id] = max(self._cursors[execution_id], row["id"])
        if reached is not None:
            for execution_id in snapshot:
                if execution_id in self._cursors:
                    self._cursors[execution_id] = max(self._cursors[execution_id], reached)


def _with_connection(function):
    def call(*args):
        close_old_connections()  # a connection the database closed meanwhile is opened again
        return function(*args)

    return call


# One thread keeps the hubs' database connection across ticks.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream-hub")
_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def close_connection() -> None:
    """Close the hubs' database connection (a test database about to be dropped)."""
    def close() -> None:
        connection.close()  # the hubs' thread's own connection

    _executor.submit(close).result(timeout=10)


def current_hub() -> Hub:
    """The hub of the running event loop: one per process under the ASGI server (one loop); under
    WSGI (tests, a WSGI server) each request's loop has its own."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found
