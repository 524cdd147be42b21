"""Celery tasks of the webhooks: thin, idempotent, taking ids (the delivery row is the truth)."""

from celery import shared_task

from webhooks import services


@shared_task(name=services.SEND_DELIVERY, ignore_result=True)
def send_delivery_message(delivery_id: str) -> None:
    services.send_delivery(delivery_id)
