"""Where the retention purge writes what it removes: JSON lines, one file (or object) per day.

``FLOWGATE_RETENTION_ARCHIVE`` names the place: a directory (``/var/lib/flowgate/archive``), or
an S3-compatible bucket (``s3://bucket/prefix``, through boto3; ``FLOWGATE_ARCHIVE_S3_ENDPOINT_URL``
for MinIO and the like, credentials from boto3's usual sources such as ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``). Empty: nothing is archived.

Lines are grouped by kind (``executions``, ``flow_runs``) and by the UTC day the row was created:
``<dir>/executions/2026-01-31.jsonl`` (appended to by each batch), or the objects
``<prefix>/executions/2026-01-31/<time>-<batch>.jsonl.gz`` (one per batch and day). The purge
writes a batch before it deletes it, so every removed row is archived at least once; a row that
changed while its batch was written (a failed execution retried) is kept and may be written again
by a later purge: its ``id`` tells the copies apart.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone


class Archive(Protocol):
    def write(self, kind: str, lines_by_day: dict[date, list[str]]) -> None: ...


def json_line(row: dict) -> str:
    return json.dumps(row, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


def by_day(rows: Iterable[tuple[datetime, dict]]) -> dict[date, list[str]]:
    """``(created_at, row)`` pairs as JSON lines grouped by the UTC day of ``created_at``."""
    days: dict[date, list[str]] = {}
    for created, row in rows:
        days.setdefault(created.astimezone(UTC).date(), []).append(json_line(row))
    return days


class DirectoryArchive:
    """``<root>/<kind>/<YYYY-MM-DD>.jsonl``, appended to under an exclusive lock and synced to disk."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def write(self, kind: str, lines_by_day: dict[date, list[str]]) -> None:
        folder = self.root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for day, lines in sorted(lines_by_day.items()):
            with open(folder / f"{day.isoformat()}.jsonl", "a", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)  # two purges at once must not interleave their lines
                handle.write("".join(f"{line}\n" for line in lines))
                handle.flush()
                os.fsync(handle.fileno())


class S3Archive:
    """``s3://<bucket>/<prefix><kind>/<YYYY-MM-DD>/<time>-<batch>.jsonl.gz``: one gzipped object per batch and day."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, client=None) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        if client is None:
            import boto3  # only where an S3 archive is configured: it takes a while to import

            client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)
        self.client = client

    def write(self, kind: str, lines_by_day: dict[date, list[str]]) -> None:
        batch = f"{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        for day, lines in sorted(lines_by_day.items()):
            body = gzip.compress("".join(f"{line}\n" for line in lines).encode())
            self.client.put_object(Bucket=self.bucket, Key=f"{self.prefix}{kind}/{day.isoformat()}/{batch}.jsonl.gz",
                                   Body=body, ContentType="application/x-ndjson", ContentEncoding="gzip")


def archive_from_settings() -> Archive | None:
    """The archive ``FLOWGATE_RETENTION_ARCHIVE`` names, or None when it is empty."""
    where = (settings.FLOWGATE_RETENTION_ARCHIVE or "").strip()
    if not where:
        return None
    if where.startswith("s3://"):
        bucket, _, prefix = where.removeprefix("s3://").partition("/")
        return S3Archive(bucket, prefix, endpoint_url=settings.FLOWGATE_ARCHIVE_S3_ENDPOINT_URL,
                         region=settings.FLOWGATE_ARCHIVE_S3_REGION)
    return DirectoryArchive(where.removeprefix("file://"))
