"""Webhook subscriptions, one-off callbacks and deliveries, written through ``webhooks.services``."""

from __future__ import annotations

import factory

from tests.accounts.factories import ProjectFactory
from tests.executions.factories import ExecutionFactory
from tests.workflows.factories import WorkflowFactory
from webhooks import services
from webhooks.models import Delivery, Subscription

# A literal public address: checked without a DNS lookup.
HOOK = "https://93.184.215.14/flowgate"


class SubscriptionFactory(factory.Factory):
    """A subscription of ``project`` to ``events`` (every event by default); answers the subscription alone."""

    class Meta:
        model = Subscription

    project = factory.SubFactory(ProjectFactory)
    url = HOOK
    events = None

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.create_subscription(**kwargs)[0]


class CallbackFactory(factory.Factory):
    """The one-off callback of ``execution`` (a start request's ``callback_url``); its project gets a
    callback secret first when it has none."""

    class Meta:
        model = Subscription

    execution = factory.SubFactory(ExecutionFactory)
    url = HOOK

    @classmethod
    def _create(cls, model_class, *, execution, url):
        if not hasattr(execution.project, "callback_secret"):
            services.rotate_callback_secret(execution.project)
        return services.link_callback(execution, url, None)


class DeliveryFactory(factory.Factory):
    """A delivery of ``event`` about ``execution`` to ``subscription``, queued as the engine's events queue
    theirs (every enabled subscriber of the project gets one; this answers ``subscription``'s)."""

    class Meta:
        model = Delivery

    subscription = factory.SubFactory(SubscriptionFactory)
    execution = factory.LazyAttribute(
        lambda delivery: ExecutionFactory(workflow=WorkflowFactory(project=delivery.subscription.project)))
    event = "approval.requested"

    @classmethod
    def _create(cls, model_class, *, subscription, execution, event):
        services.queue_feature_event(event, execution, {})
        return Delivery.objects.filter(subscription=subscription, execution=execution, event=event).latest("created_at")
