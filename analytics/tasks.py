"""Celery tasks of analytics: thin wrappers around one service each. Names are stable (beat stores them)."""

from celery import shared_task

from analytics.audit_outbox import audit_send_pending


@shared_task(name="analytics.audit_send_pending", time_limit=10 * 60, soft_time_limit=9 * 60)
def audit_send_pending_task() -> str:
    """Send the audit records ClickHouse did not take after their commit (it was down, or the process died)."""
    sent = audit_send_pending()
    return f"{sent} audit records sent"
