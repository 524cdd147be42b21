"""Executions, started through ``executions.services.start_execution`` as every surface starts them."""

from __future__ import annotations

import factory
from django.test import TestCase

from executions.models import Execution
from executions.services import start_execution
from tests.workflows.factories import WorkflowFactory


class ExecutionFactory(factory.Factory):
    """An execution of ``workflow`` started by ``caller`` (the system when None).

    With ``run=True`` the eager engine runs it as far as it goes (to its end, or until it waits on
    an approval or a delay) before the factory answers it, fresh from the database; otherwise it
    stays queued, as when no worker has taken it yet. Other keywords go to ``start_execution``.
    """

    class Meta:
        model = Execution

    caller = None
    workflow = factory.SubFactory(WorkflowFactory)
    input = factory.Dict({})
    run = False

    @classmethod
    def _create(cls, model_class, *, run, **kwargs):
        if not run:
            return start_execution(**kwargs)[0]
        # The engine's messages are sent when the transaction commits; in a test that never
        # commits, run them when the start's own transaction is done, as a commit would.
        with TestCase.captureOnCommitCallbacks(execute=True):
            execution, _ = start_execution(**kwargs)
        execution.refresh_from_db()
        return execution
