"""What /health/ checks: each database, the broker, and whether a Celery worker answers.

A run waits (pending) until a worker takes it, so "no worker answered" makes the system unhealthy as soon as a
run is waiting; with nothing waiting it is reported but not a failure (a worker may be restarting). A worker
answered when its heartbeat (etlsite.workers) is under a minute old; otherwise Celery's own `ping` broadcast
is tried, answered by each worker's main process even while its pool runs a long task; it returns at the
first answer and waits at most ETL_HEALTH_WORKER_TIMEOUT seconds, and an answer is recorded as a heartbeat.

Answers name what is down, never an address, a user or a password.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from analytics.clickhouse import ClickHouseError, get_target
from etlsite.workers import heartbeat_record, worker_answered_recently, worker_last_seen

logger = logging.getLogger(__name__)

OK, UNAVAILABLE = "ok", "unavailable"


def database_checks() -> dict[str, str]:
    checks = {}
    for alias in ("default", "staging"):
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
            checks[alias] = OK
        except Exception:  # any driver error means "down" here; details go to the log, not the response
            logger.warning("health: the %s database did not answer", alias, exc_info=True)
            checks[alias] = UNAVAILABLE
    try:
        get_target().command("SELECT 1")
        checks["clickhouse"] = OK
    except ClickHouseError:
        logger.warning("health: ClickHouse did not answer", exc_info=True)
        checks["clickhouse"] = UNAVAILABLE
    return checks


def broker_check() -> str:
    from etlsite.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=settings.ETL_HEALTH_WORKER_TIMEOUT)
        return OK
    except Exception:  # kombu raises the transport's own errors (OperationalError, redis errors, OSError)
        logger.warning("health: the broker did not answer", exc_info=True)
        return UNAVAILABLE


def workers_answering() -> int:
    """How many Celery workers answered a ping (at most one is waited for)."""
    from etlsite.celery import app

    if app.conf.task_always_eager:  # tasks run inside the caller: no worker is needed
        return 1
    try:
        return len(app.control.ping(timeout=settings.ETL_HEALTH_WORKER_TIMEOUT, limit=1) or [])
    except Exception:
        logger.warning("health: pinging the workers failed", exc_info=True)
        return 0


def pending_runs() -> int | None:
    from pipelines.models import PipelineRun, RunStatus

    try:
        return PipelineRun.objects.filter(status=RunStatus.PENDING).count()
    except Exception:
        return None


def system_health() -> dict:
    """{"status": "ok"|"unavailable", "checks": {...}, "pending_runs": n, "worker_seen_at": ISO time of the
    last heartbeat or null, "reasons": [...]}."""
    checks = database_checks()
    checks["broker"] = broker_check()
    checks["worker"] = UNAVAILABLE
    if worker_answered_recently():
        checks["worker"] = OK
    elif checks["broker"] == OK and workers_answering():
        checks["worker"] = OK
        heartbeat_record()  # a worker whose heartbeat does not reach this cache: the pages learn it here
    seen = worker_last_seen()
    waiting = pending_runs() if checks["default"] == OK else None
    down = {"default": _("The metadata database does not answer."),
            "staging": _("The staging database does not answer."),
            "clickhouse": _("The ClickHouse database does not answer.")}
    reasons = [message for name, message in down.items() if checks[name] != OK]
    if checks["broker"] != OK:
        reasons.append(_("The Celery broker does not answer."))
    if checks["worker"] != OK:
        if waiting:
            reasons.append(ngettext("%(count)d run is waiting and no Celery worker answered.",
                                    "%(count)d runs are waiting and no Celery worker answered.", waiting)
                           % {"count": waiting})
        else:
            reasons.append(_("No Celery worker answered: runs will wait until one starts."))
    healthy = all(checks[name] == OK for name in ("default", "staging", "clickhouse", "broker")) and \
        (checks["worker"] == OK or waiting == 0)
    return {"status": OK if healthy else UNAVAILABLE, "checks": checks, "pending_runs": waiting,
            "worker_seen_at": seen.isoformat() if seen else None, "reasons": reasons}
