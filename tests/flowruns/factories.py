"""Flow runs, written through ``flowruns.services`` like every other write."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta

import factory
import time_machine

from flowruns import services
from flowruns.models import FlowRun
from tests.accounts.factories import TenantFactory, key_caller

T0 = datetime.fromisoformat("2025-01-20T18:00:00+00:00")


def at(when: datetime):
    """Stop the clock at ``when``."""
    return time_machine.travel(when, tick=False)


class FlowRunFactory(factory.Factory):
    """A run that ``caller`` reports (a new admin key named "reporter" by default), as Port's PUT writes it.

    ``created_at``: the instant the clock stands at while the run is written. Other keywords are
    model fields (phase, tags, actions, ...).
    """

    class Meta:
        model = FlowRun

    caller = factory.LazyFunction(lambda: key_caller(TenantFactory(), name="reporter"))
    run_id = factory.Sequence(lambda n: f"run-{n:04d}")
    flow_id = "deploy"
    flow_type = "automation"
    created_at = None

    @classmethod
    def _create(cls, model_class, *, caller, run_id, created_at, **values):
        with at(created_at) if created_at is not None else nullcontext():
            run, _ = services.upsert_flow_run(caller, run_id, values)
        return run


def make_runs(caller, count: int, *, per_instant: int = 1, start: datetime = T0, prefix: str = "run",
              **values) -> list[FlowRun]:
    """``count`` runs, ``per_instant`` of them created at each second from ``start`` (ties on purpose)."""
    return [FlowRunFactory(caller=caller, run_id=f"{prefix}-{index:04d}", **values,
                           created_at=start + timedelta(seconds=index // per_instant))
            for index in range(count)]
