"""Schedules and the executions they started, written through ``schedules.services`` and the start option."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory

from executions.models import Execution
from schedules import services
from schedules.models import Schedule
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory


class ScheduleFactory(factory.Factory):
    """A schedule of ``workflow`` (every hour, in UTC, by default)."""

    class Meta:
        model = Schedule

    workflow = factory.SubFactory(WorkflowFactory)
    cron = "0 * * * *"

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.create_schedule(**kwargs)


class ScheduledExecutionFactory(factory.Factory):
    """An execution of ``schedule``'s workflow that the schedule started for due time ``due_at`` (the
    ``schedule`` start option, as the sweeper passes it); the n-th one is due n hours after 2030-01-01."""

    class Meta:
        model = Execution

    schedule = factory.SubFactory(ScheduleFactory)
    due_at = factory.Sequence(lambda n: datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=n))

    @classmethod
    def _create(cls, model_class, *, schedule, due_at):
        return ExecutionFactory(workflow=schedule.workflow, options={"schedule": {"schedule": schedule,
                                                                                   "due_at": due_at}})
