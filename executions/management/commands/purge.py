"""``manage.py purge [--older-than 30d] [--tenant SLUG] [--dry-run]``: remove old finished executions now."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Tenant
from executions import retention

UNITS = {"d": "days", "h": "hours", "m": "minutes", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` or ``2w`` as a timedelta."""
    match = re.fullmatch(r"\s*(\d+)\s*([dhmw])\s*", text or "")
    if match is None:
        raise CommandError(f"--older-than {text!r}: write a number and a unit, like 30d (days), 12h, 90m or 2w.")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = ("Remove finished executions (with their task runs, logs and approvals) and finished Port flow runs "
            "past the retention rules, or older than --older-than; queued, running and waiting executions are "
            "never touched. Archives them first when FLOWGATE_RETENTION_ARCHIVE is set.")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", help="Remove what ended longer ago than this (30d, 12h, 90m, 2w), "
                                                 "whatever the rules say. Without it, the rules apply.")
        parser.add_argument("--tenant", help="Only this tenant (its slug).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; remove nothing.")
        parser.add_argument("--batch-size", type=int, default=retention.PURGE_BATCH,
                            help=f"Executions per transaction (default {retention.PURGE_BATCH}).")

    def handle(self, *args, older_than, tenant, dry_run, batch_size, **options):
        age = parse_age(older_than) if older_than is not None else None
        tenant_row = None
        if tenant:
            tenant_row = Tenant.objects.filter(slug=tenant).first()
            if tenant_row is None:
                known = ", ".join(Tenant.objects.values_list("slug", flat=True)[:20]) or "none yet"
                raise CommandError(f"No tenant with slug {tenant!r} (tenants: {known}).")
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        began = time.monotonic()
        counts = retention.purge(older_than=age, tenant=tenant_row, dry_run=dry_run, batch_size=batch_size)
        seconds = time.monotonic() - began
        what = ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in counts.items())
        if dry_run:
            self.stdout.write(f"Would remove {what} (dry run: nothing was removed).")
        else:
            self.stdout.write(f"Removed {what} in {seconds:.1f} s.")
