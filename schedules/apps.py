from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    """Workflows started on cron schedules, found due by the engine's sweeper."""

    name = "schedules"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from executions.plugins import register_start_option, register_sweep_pass
        from schedules.services import fire_due_schedules, link_schedule

        # Each sweep starts the schedules that are due (from the database: two beats start nothing twice).
        register_sweep_pass("schedules", fire_due_schedules)
        # start_execution(options={"schedule": ...}) links the new execution to the schedule that started it.
        register_start_option("schedule", link_schedule)
