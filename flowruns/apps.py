from django.apps import AppConfig


class FlowrunsConfig(AppConfig):
    name = "flowruns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from executions.plugins import register_start_option
        from executions.signals import execution_changed, execution_reviewed
        from flowruns.services import link_execution, may_report, mirror_execution, record_review

        # start_execution(options={"flow_run": ...}) mirrors the new execution into a Port flow run.
        register_start_option("flow_run", link_execution)
        # Every step of every execution changes it: only those that may report to a run are looked at.
        execution_changed.connect(mirror_execution, dispatch_uid="flowruns.mirror_execution", when=may_report)
        execution_reviewed.connect(record_review, dispatch_uid="flowruns.record_review")
