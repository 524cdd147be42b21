"""Approvals in the metrics: how many wait for a person now (read at scrape time)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from approvals.models import Approval, ApprovalStatus


def pending_approval_gauges() -> Iterable[Metric]:
    """Pending approvals: a count over the (status, expires_at) index's pending entries."""
    yield GaugeMetricFamily("flowgate_approvals_pending", "Approvals waiting for a decision.",
                            value=Approval.objects.filter(status=ApprovalStatus.PENDING).count())
