"""Flowgate's ground app: what each process does once at start, whatever it runs."""

import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("flowgate.config")


class FlowgateConfig(AppConfig):
    name = "config"
    label = "flowgate"
    verbose_name = "Flowgate"

    def ready(self) -> None:
        # A setting that works but is probably not what a production deployment wants: said once here.
        for notice in settings.CONFIG_NOTICES:
            logger.warning(notice)
