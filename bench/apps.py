"""The benchmark's own task types, registered like any app's (``workflows.registry``)."""

from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "bench"
    label = "flowgate_bench"

    def ready(self) -> None:
        from workflows.registry import NUMBER, ConfigField, TaskType, register

        register(TaskType("bench_sleep", "bench.steps.run_sleep", {"seconds": ConfigField(NUMBER, required=True)},
                          "Sleep (the benchmark's step body)."))
        register(TaskType("bench_noop", "bench.steps.run_noop", {}, "Do nothing (the benchmark's no-op step)."))
