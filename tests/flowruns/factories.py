"""Flow-run test data, written through the services like every other write."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine

from accounts import services as account_services
from accounts.authentication import caller_for_key
from accounts.caller import Caller
from flowruns import services
from flowruns.models import FlowRun

T0 = datetime.fromisoformat("2025-01-20T18:00:00+00:00")


def key_caller(tenant, role: str = "admin", name: str = "reporter") -> Caller:
    """A Caller acting through a new API key of ``tenant`` named ``name``."""
    key, _ = account_services.create_api_key(tenant, name, role)
    return caller_for_key(key)


def at(when: datetime):
    """Stop the clock at ``when``."""
    return time_machine.travel(when, tick=False)


def make_runs(caller: Caller, count: int, *, per_instant: int = 1, start: datetime = T0, prefix: str = "run",
              **fields) -> list[FlowRun]:
    """``count`` runs, ``per_instant`` of them created at each second from ``start`` (ties on purpose)."""
    runs = []
    for index in range(count):
        with at(start + timedelta(seconds=index // per_instant)):
            runs.append(services.create_flow_run(caller, run_id=f"{prefix}-{index:04d}",
                                                 flow_id=fields.get("flow_id", "deploy"), **{
                                                     k: v for k, v in fields.items() if k != "flow_id"}))
    return runs
