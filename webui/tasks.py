"""Celery tasks of the web pages: thin wrappers around one service each. Names are stable (beat stores them)."""

from django.conf import settings

from etlsite.tasks import LONG_HOUSEKEEPING_LIMITS, etl_task
from webui.chunked import sessions_expire


@etl_task("webui.expire_upload_sessions", limits=LONG_HOUSEKEEPING_LIMITS)
def upload_sessions_expire_task() -> str:
    removed = sessions_expire(older_than_seconds=settings.ETL_UPLOAD_SESSION_HOURS * 3600)
    return f"{removed} abandoned upload sessions removed"
