"""Python task types the tests register through FLOWGATE_TASK_TYPES."""

import time


def sleep(config, context):
    """Sleep for config["seconds"] and report when it started and ended."""
    started = time.time()
    time.sleep(float(config.get("seconds", 1)))
    return {"started": started, "ended": time.time()}


def flaky(config, context):
    """Fail until the execution input's `succeed_on_attempt` is reached (counts via a file)."""
    from pathlib import Path

    marker = Path(config["counter_file"])
    count = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(count))
    if count < int(config.get("succeed_on_attempt", 2)):
        raise RuntimeError(f"flaky failure {count}")
    return {"attempts_seen": count}


def echo(config, context):
    """Return the config and the execution input."""
    return {"config": config, "input": context["input"]}


def run_shout(ctx):
    """The executor of the ``shout`` type a test registers: its text in capitals."""
    from executions.engine import Done

    return Done(output={"text": str(ctx.config["text"]).upper()})
