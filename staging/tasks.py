"""Celery tasks of the staging app: thin wrappers around one service each. Names are stable (beat stores them)."""

from celery import shared_task

from staging.services import staging_cleanup_expired


@shared_task(name="staging.cleanup_expired", time_limit=30 * 60, soft_time_limit=25 * 60)
def staging_cleanup_expired_task() -> str:
    dropped = staging_cleanup_expired()
    return f"{dropped} expired staging tables dropped"
