"""The audit outbox: how an audit record travels from the change it records to ClickHouse's etl_audit_log.

A model-save signal must not wait for ClickHouse, and a record must neither outlive a rolled-back change nor
be lost when ClickHouse is down. So:

* `outbox_add` writes the record to the metadata database's `etl_audit_outbox` in the transaction of the
  change. A change made in another database (an upload's file_metadata row lives in staging) is recorded
  when that database commits.
* After the commit, the records of that transaction are sent to etl_audit_log in one INSERT and deleted
  from the outbox (`outbox_send`, run by `transaction.on_commit`). A failure is logged and left for...
* `audit_send_pending`, which the beat task "analytics.audit_send_pending" runs every minute: it sends what
  is still in the outbox, oldest first.

Exactly once: a sender locks its rows (SELECT ... FOR UPDATE SKIP LOCKED, so two senders never send the same
row), and before inserting asks ClickHouse which of the rows' ids it already holds (a send whose INSERT got
through but whose delete did not commit, e.g. a killed worker) and only deletes those.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connections, router, transaction
from django.db.models import F
from django.utils import timezone

from analytics.models import AuditOutbox

logger = logging.getLogger(__name__)

TABLE = "etl_audit_log"
COLUMNS = ("id", "operation_type", "table_name", "operation_details", "user_id", "session_id", "ip_address",
           "user_agent", "pipeline_run_id", "created_at", "updated_at")
BATCH = 500
ERROR_MAX = 1000


_clock_lock = threading.Lock()
_last_time: datetime | None = None


def _record_time() -> datetime:
    """Now, but never at or before the previous record's time in this process: etl_audit_log keeps milliseconds
    and orders by created_at, and a soft delete and its restore a millisecond apart must not swap places."""
    global _last_time
    with _clock_lock:
        now = timezone.now()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if _last_time is not None and now <= _last_time:
            now = _last_time + timedelta(milliseconds=1)
        _last_time = now
        return now


def outbox_alias() -> str:
    return router.db_for_write(AuditOutbox)


# --- recording -------------------------------------------------------------------------------------------
class _Batch:
    """The ids one transaction recorded, sent together by one on_commit callback."""

    def __init__(self) -> None:
        self.ids: list = []

    def __call__(self) -> None:
        outbox_send(ids=self.ids)


def _batch_add(alias: str, key) -> None:
    """Add `key` to the batch of the connection's current transaction, registered with on_commit when new.

    Kept on the connection, and reused only while its callback is still queued there: a rollback (of the
    transaction or of the savepoint that registered it) discards the callback, and the next record starts a
    new batch. Outside a transaction on_commit runs at once, so every record is its own batch.
    """
    connection = connections[alias]
    batch = getattr(connection, "_audit_batch", None)
    if batch is not None and any(hook[1] is batch for hook in connection.run_on_commit):
        batch.ids.append(key)
        return
    batch = connection._audit_batch = _Batch()
    batch.ids.append(key)  # before registering: outside a transaction the callback runs at once
    transaction.on_commit(batch, using=alias, robust=True)


def _store(entry: AuditOutbox) -> bool:
    alias = outbox_alias()
    try:
        # A savepoint: a failed insert must not break the caller's transaction (recording never raises).
        with transaction.atomic(using=alias):
            entry.save(using=alias, force_insert=True)
    except Exception as exc:
        logger.warning("Audit record not written (%s %s): %s", entry.operation_type, entry.table_name, exc)
        return False
    _batch_add(alias, entry.pk)
    return True


def outbox_add(entry: AuditOutbox, *, using: str | None = None) -> bool:
    """Record `entry` for a change made in database `using` (the outbox's own when None).

    True when recorded, or (a change in another database) queued to be recorded when that database commits.
    """
    entry.created_at = entry.created_at or _record_time()
    alias = outbox_alias()
    if using is None or using == alias or not connections[using].in_atomic_block:
        return _store(entry)
    # Another database's transaction: the record must not outlive its rollback, so it is written after that
    # commit (a crash between the two commits is the one window in which it can be lost).
    transaction.on_commit(lambda: _store(entry), using=using, robust=True)
    return True


# --- sending ---------------------------------------------------------------------------------------------
def _target():
    from analytics.clickhouse import get_target  # the ClickHouse client, loaded only when something is sent

    return get_target()


def _already_sent(target, entries: list[AuditOutbox]) -> set[str]:
    # The rows keep their created_at: bounding by it lets ClickHouse read only the recent part of the table.
    since_ms = int(min(e.created_at for e in entries).timestamp() * 1000) - 1000
    rows = target.query(
        f"SELECT toString(id) FROM {TABLE} WHERE created_at >= fromUnixTimestamp64Milli({{since:Int64}}) "
        "AND has({ids:Array(String)}, toString(id))",
        {"since": since_ms, "ids": [str(e.pk) for e in entries]}).result_rows
    return {row[0] for row in rows}


def _row(entry: AuditOutbox) -> list:
    return [entry.pk, entry.operation_type, entry.table_name, entry.operation_details, entry.user_id,
            entry.session_id, entry.ip_address, entry.user_agent, entry.pipeline_run_id, entry.created_at,
            entry.created_at]


def outbox_send(*, ids: list | None = None, limit: int = BATCH, target_for: Callable = _target) -> int:
    """Send outbox records (those of `ids`, or the oldest `limit`) to etl_audit_log and delete them.

    Returns how many were sent; -1 when ClickHouse refused (the rows stay, their attempts counted). Never
    raises: it runs after a commit whose change has been made.
    """
    alias = outbox_alias()
    try:
        with transaction.atomic(using=alias):
            pending = AuditOutbox.objects.using(alias).select_for_update(skip_locked=True).order_by("created_at")
            if ids is not None:
                pending = pending.filter(pk__in=ids)
            entries = list(pending[:limit])
            if not entries:
                return 0
            keys = [e.pk for e in entries]
            try:
                target = target_for()
                sent = _already_sent(target, entries)
                target.insert(TABLE, [_row(e) for e in entries if str(e.pk) not in sent], COLUMNS)
            except Exception as exc:
                AuditOutbox.objects.using(alias).filter(pk__in=keys).update(
                    attempts=F("attempts") + 1, last_error=str(exc)[:ERROR_MAX])
                logger.warning("Audit records not sent to ClickHouse (%s waiting): %s", len(keys), exc)
                return -1
            AuditOutbox.objects.using(alias).filter(pk__in=keys).delete()
            return len(entries)
    except Exception:
        logger.exception("Audit outbox not processed")
        return -1


def audit_send_pending(*, limit: int = BATCH, max_batches: int = 100) -> int:
    """Send everything waiting in the outbox, batch by batch, until it is empty or ClickHouse refuses."""
    total = 0
    for _ in range(max_batches):
        sent = outbox_send(limit=limit)
        if sent <= 0:
            break
        total += sent
    return total
