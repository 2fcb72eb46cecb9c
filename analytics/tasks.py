"""Celery tasks of analytics: thin wrappers around one service each. Names are stable (beat stores them)."""

from analytics.audit_outbox import audit_send_pending
from etlsite.tasks import etl_task


@etl_task("analytics.audit_send_pending", limits=(9 * 60, 10 * 60))
def audit_send_pending_task() -> str:
    """Send the audit records ClickHouse did not take after their commit (it was down, or the process died)."""
    sent = audit_send_pending()
    return f"{sent} audit records sent"
