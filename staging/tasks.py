"""Celery tasks of the staging app: thin wrappers around one service each. Names are stable (beat stores them)."""

from etlsite.tasks import LONG_HOUSEKEEPING_LIMITS, etl_task
from staging.services import staging_cleanup_expired


@etl_task("staging.cleanup_expired", limits=LONG_HOUSEKEEPING_LIMITS)
def staging_cleanup_expired_task() -> str:
    dropped = staging_cleanup_expired()
    return f"{dropped} expired staging tables dropped"
