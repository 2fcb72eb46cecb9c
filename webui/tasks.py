"""Celery tasks of the web pages: thin wrappers around one service each. Names are stable (beat stores them)."""

from celery import shared_task
from django.conf import settings

from webui.chunked import sessions_expire


@shared_task(name="webui.expire_upload_sessions", time_limit=30 * 60, soft_time_limit=25 * 60)
def upload_sessions_expire_task() -> str:
    removed = sessions_expire(older_than_seconds=settings.ETL_UPLOAD_SESSION_HOURS * 3600)
    return f"{removed} abandoned upload sessions removed"
