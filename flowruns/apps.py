from django.apps import AppConfig


class FlowrunsConfig(AppConfig):
    name = "flowruns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from executions.plugins import register_purge_pass, register_start_option
        from executions.signals import execution_changed, execution_reviewed
        from flowruns.services import (
            link_execution,
            may_report,
            mirror_execution,
            purge_flow_runs,
            record_review,
            recount_flow_runs,
        )

        # start_execution(options={"flow_run": ...}) mirrors the new execution into a Port flow run.
        register_start_option("flow_run", link_execution)
        # Every step of every execution changes it: only those that may report to a run are looked at.
        execution_changed.connect(mirror_execution, dispatch_uid="flowruns.mirror_execution", when=may_report)
        execution_reviewed.connect(record_review, dispatch_uid="flowruns.record_review")
        # Finished flow runs follow their tenant's retention rule.
        register_purge_pass("flow_runs", purge_flow_runs)
        # The kept counts behind Port's exact totals, checked against the runs now and then.
        register_purge_pass("flow_run_counts_fixed", recount_flow_runs)
