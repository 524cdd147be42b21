"""The step bodies of the engine benchmark, run by Flowgate (as task types) and by bare Celery alike."""

from __future__ import annotations

import time


def body(seconds: float) -> None:
    """What one step does on both sides: sleep for ``seconds`` (0: nothing)."""
    if seconds:
        time.sleep(seconds)


def run_sleep(ctx):
    from executions.engine import Done

    body(float(ctx.config["seconds"]))
    return Done()


def run_noop(ctx):
    from executions.engine import Done

    body(0)
    return Done()
