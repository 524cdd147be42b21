"""The admin's webhook lists: read from indexes, with fixed filter choices and a query count that does not grow."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.executions.factories import ExecutionFactory
from tests.webhooks.factories import CallbackFactory, DeliveryFactory, SubscriptionFactory
from tests.workflows.factories import WorkflowFactory
from webhooks.models import EVENTS, Delivery

pytestmark = pytest.mark.django_db

LOG = [{"name": "a", "type": "log", "config": {"message": "x"}}]


@pytest.fixture
def workflow(project_a):
    return WorkflowFactory(project=project_a, tasks=LOG)


@pytest.fixture
def many_deliveries(project_a, workflow):
    subscriptions = [SubscriptionFactory(project=project_a, url=f"https://93.184.215.14/hook-{n}") for n in range(3)]
    for _ in range(10):
        DeliveryFactory(subscription=subscriptions[0], execution=ExecutionFactory(workflow=workflow),
                        event="execution.succeeded")
    return subscriptions


@pytest.mark.parametrize("path", ["/admin/webhooks/delivery/", "/admin/webhooks/delivery/?status__exact=pending",
                                  "/admin/webhooks/delivery/?event=execution.succeeded"])
def test_the_delivery_list_costs_the_same_queries_for_many_deliveries(admin_client, many_deliveries, path,
                                                                      django_assert_max_num_queries):
    # session, user, the table's estimate and (a small table's) capped count, the page with its subscriptions
    with django_assert_max_num_queries(5):
        assert admin_client.get(path).status_code == 200


def test_the_delivery_list_reads_no_distinct_values_or_dates(admin_client, many_deliveries):
    with CaptureQueriesContext(connection) as captured:
        assert admin_client.get("/admin/webhooks/delivery/").status_code == 200
    statements = " ".join(query["sql"] for query in captured.captured_queries)
    assert "DISTINCT" not in statements and "DATE_TRUNC" not in statements.upper()


def test_the_event_filter_offers_every_event_a_subscription_can_name(admin_client, many_deliveries):
    page = admin_client.get("/admin/webhooks/delivery/")
    for event in EVENTS:  # only execution.succeeded was delivered
        assert f"?event={event}".encode() in page.content
    filtered = admin_client.get("/admin/webhooks/delivery/", {"event": "approval.decided"})
    assert filtered.status_code == 200 and list(filtered.context["cl"].result_list) == []


def test_an_unfiltered_delivery_list_shows_the_tables_estimate(admin_client, many_deliveries, monkeypatch):
    monkeypatch.setattr("config.counting.estimated_rows", lambda model: 1_234_567)
    page = admin_client.get("/admin/webhooks/delivery/")
    assert page.status_code == 200 and b"about 1234567 deliveries" in page.content


def test_an_id_finds_a_delivery_through_the_search(admin_client, many_deliveries):
    delivery = Delivery.objects.first()
    for term in (delivery.pk, delivery.execution_id):
        page = admin_client.get("/admin/webhooks/delivery/", {"q": str(term)})
        assert page.status_code == 200 and delivery in page.context["cl"].result_list


def test_the_subscription_list_costs_the_same_queries_for_many_callbacks(admin_client, workflow,
                                                                         django_assert_max_num_queries):
    for _ in range(30):  # a start request's callback_url: one subscription per execution
        CallbackFactory(execution=ExecutionFactory(workflow=workflow))
    # session, user, the tenant filter's choices, the count, the page with projects, tenants and executions
    with django_assert_max_num_queries(6):
        assert admin_client.get("/admin/webhooks/subscription/").status_code == 200
