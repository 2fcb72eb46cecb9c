"""Alerts: failed runs (timeouts included), low data quality, anomalies, schema drift and "no new data".

Each condition is keyed per pipeline and kept as one `Alert` row while it holds. Opening it notifies once (e-mail
and webhook, when configured); while it stays open nothing more is sent, except an optional reminder after
``ETL_ALERT_RENOTIFY_HOURS`` (0 disables reminders); when a later run shows the condition no longer holds the
alert is resolved and the recovery is announced.

Entry points: ``alerts_evaluate(run=...)`` after a run finishes, ``alerts_check_stale()`` periodically.
Recipients: ``configuration["alerts"]["emails"]`` / ``["webhook_url"]`` of the pipeline, else the settings
``ETL_ALERT_EMAILS`` / ``ETL_ALERT_WEBHOOK_URL``. Delivery errors are logged, never raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.queries import lineage as lineage_queries
from etlsite.identifiers import sanitize_identifier
from pipelines.models import (
    Alert,
    AlertCondition,
    AlertLevel,
    AlertStatus,
    AnalysisType,
    Pipeline,
    PipelineRun,
    PipelineStatus,
    RunStatus,
)
from sources.scrubbing import scrub, scrub_for_source, source_secrets

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 10
SAMPLE_ROWS = 5
LINEAGE_DEPTH = 3
TIMEOUT_MARKERS = ("timeout", "timed out", "time limit")

# Which analysis type opens which condition (only results flagged is_alert count).
ANALYSIS_CONDITIONS = {
    AlertCondition.QUALITY: AnalysisType.DATA_QUALITY,
    AlertCondition.ANOMALY: AnalysisType.ANOMALY_DETECTION,
    AlertCondition.SCHEMA_DRIFT: AnalysisType.SCHEMA_DRIFT,
}


class NotificationKind:
    OPENED = "opened"
    REMINDER = "reminder"
    RECOVERED = "recovered"


@dataclass
class Notification:
    """One message about one alert, and the channels it went out on."""

    alert: Alert
    kind: str
    subject: str
    body: str
    payload: dict[str, Any]
    delivered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


# --- what holds after a run -------------------------------------------------------------------------------

def _is_timeout(run: PipelineRun) -> bool:
    message = (run.error_message or "").lower()
    if any(marker in message for marker in TIMEOUT_MARKERS):
        return True
    timeout = run.pipeline.timeout_seconds
    return bool(timeout and run.duration_seconds and run.duration_seconds >= timeout)


def _failed_details(run: PipelineRun) -> dict:
    timeout = _is_timeout(run)
    if timeout:
        what = _("The run exceeded its timeout of %(seconds)d seconds.") % {"seconds": run.pipeline.timeout_seconds}
        rule = _("timeout: %(seconds)d s") % {"seconds": run.pipeline.timeout_seconds}
    else:
        what = _("The run failed.")
        rule = _("run status must be \"success\"")
    return {"what": what, "error_message": run.error_text, "rule": rule, "timeout": timeout,
            "threshold": run.pipeline.timeout_seconds if timeout else None}


def _analysis_details(results: list) -> dict:
    findings = []
    for result in results:
        data = result.result_data or {}
        findings.append({
            "analysis_result_id": result.pk,
            "alert_level": result.alert_level,
            "rule": data.get("rule") or data.get("check") or data.get("metric") or data.get("step") or "",
            "threshold": data.get("threshold", data.get("thresholds")),
            "value": data.get("value", data.get("actual")),
            "summary": data.get("summary") or data.get("message") or data.get("error") or "",
            "result_data": data,
            "recommendations": result.recommendation_texts,
        })
    return {"what": _("Analysis findings that need attention: %(count)d.") % {"count": len(findings)},
            "findings": findings}


def _conditions(run: PipelineRun) -> tuple[dict[str, dict], set[str]]:
    """(conditions holding after the run with their details, conditions the run lets us judge)."""
    if run.status == RunStatus.FAILED:
        return {AlertCondition.RUN_FAILED: _failed_details(run)}, {AlertCondition.RUN_FAILED}
    if run.status != RunStatus.SUCCESS:
        return {}, set()
    judged = {AlertCondition.RUN_FAILED, *ANALYSIS_CONDITIONS}
    holding: dict[str, dict] = {}
    flagged = list(run.analysis_results.filter(is_alert=True).order_by("pk"))
    for condition, analysis_type in ANALYSIS_CONDITIONS.items():
        found = [r for r in flagged if r.analysis_type == analysis_type]
        if found:
            holding[condition] = _analysis_details(found)
    if run.records_processed > 0:
        judged.add(AlertCondition.NO_NEW_DATA)
    return holding, judged


# --- the open/notify/resolve state machine ---------------------------------------------------------------

def _renotify_after() -> timedelta | None:
    hours = getattr(settings, "ETL_ALERT_RENOTIFY_HOURS", 24)
    return timedelta(hours=float(hours)) if hours else None


def _apply(pipeline: Pipeline, condition: str, details: dict | None, run: PipelineRun | None) -> tuple | None:
    """Update the alert of one condition; returns (alert, notification kind) when something must be sent."""
    now = timezone.now()
    if details is not None:  # stored, and sent to mailboxes and webhooks: never with a secret of the source
        details = scrub_for_source(details, pipeline.data_source)
    with transaction.atomic():
        alert = (Alert.objects.select_for_update()
                 .filter(pipeline=pipeline, condition=condition, status=AlertStatus.OPEN).first())
        if details is None:
            if alert is None:
                return None
            alert.status = AlertStatus.RESOLVED
            alert.resolved_at = now
            if run is not None:
                alert.last_run = run
            alert.save(update_fields=["status", "resolved_at", "last_run", "updated_at"])
            return alert, NotificationKind.RECOVERED
        if alert is None:
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(pipeline=pipeline, condition=condition, opened_at=now,
                                                 last_notified_at=now, last_run=run, details=details)
            except IntegrityError:  # opened concurrently by another worker: that one notifies
                return None
            return alert, NotificationKind.OPENED
        alert.occurrences += 1
        alert.details = details
        if run is not None:
            alert.last_run = run
        kind = None
        renotify = _renotify_after()
        if renotify and (alert.last_notified_at is None or now - alert.last_notified_at >= renotify):
            alert.last_notified_at = now
            kind = NotificationKind.REMINDER
        alert.save(update_fields=["occurrences", "details", "last_run", "last_notified_at", "updated_at"])
        return (alert, kind) if kind else None


def alerts_evaluate(*, run: PipelineRun) -> list[Notification]:
    """After a run finished: open, throttle or resolve the pipeline's alerts and deliver what must be sent."""
    run.refresh_from_db()
    holding, judged = _conditions(run)
    if not judged:
        return []
    for details in holding.values():
        details.update(_context(run))
    pending = []
    for condition in sorted(judged):
        changed = _apply(run.pipeline, condition, holding.get(condition), run)
        if changed:
            pending.append(changed)
    return [_notify(alert, kind) for alert, kind in pending]


# --- no new data ------------------------------------------------------------------------------------------

def _next_fire(cron: str, after: datetime) -> datetime:
    from celery.schedules import crontab

    minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
    schedule = crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                       day_of_week=day_of_week)
    local = timezone.localtime(after)
    last_run_at, delta, _now = schedule.remaining_delta(local, tz=local.tzinfo)
    return last_run_at + delta


def stale_deadline(pipeline: Pipeline, last_data_at: datetime) -> datetime | None:
    """When missing new data becomes an alert: ``alerts.max_age_hours`` after the last data, or else the
    second scheduled fire time after it (two intervals of the schedule without new data)."""
    max_age = ((pipeline.configuration or {}).get("alerts") or {}).get("max_age_hours")
    if max_age:
        return last_data_at + timedelta(hours=float(max_age))
    cron = (pipeline.schedule_cron or "").strip()
    if not cron:
        return None
    try:
        return _next_fire(cron, _next_fire(cron, last_data_at))
    except (ValueError, KeyError):
        logger.warning("pipeline %s: cannot read schedule_cron %r", pipeline.pk, cron)
        return None


def _last_data_at(pipeline: Pipeline) -> datetime:
    run = (PipelineRun.objects.filter(pipeline=pipeline, status=RunStatus.SUCCESS, records_processed__gt=0)
           .order_by("-finished_at", "-pk").first())
    if run is None:
        return pipeline.created_at
    return run.finished_at or run.created_at


def alerts_check_stale(*, now: datetime | None = None) -> list[Notification]:
    """Open `no_new_data` for active scheduled pipelines that loaded nothing new for longer than allowed."""
    now = now or timezone.now()
    sent = []
    pipelines = Pipeline.objects.filter(status=PipelineStatus.ACTIVE)
    for pipeline in pipelines:
        last = _last_data_at(pipeline)
        deadline = stale_deadline(pipeline, last)
        if deadline is None or now <= deadline:
            continue
        details = {
            "what": _("No new data since %(since)s.") % {"since": timezone.localtime(last).isoformat()},
            "rule": _("new data at least every two schedule intervals (%(cron)s)") % {"cron": pipeline.schedule_cron}
            if not ((pipeline.configuration or {}).get("alerts") or {}).get("max_age_hours")
            else _("new data at least every %(hours)s hours") % {
                "hours": pipeline.configuration["alerts"]["max_age_hours"]},
            "threshold": deadline.isoformat(), "last_data_at": last.isoformat(),
            "downstream_tables": downstream_tables(_target_table(pipeline)),
        }
        changed = _apply(pipeline, AlertCondition.NO_NEW_DATA, details, None)
        if changed:
            sent.append(_notify(*changed))
    return sent


# --- message context: sample rows and downstream tables -----------------------------------------------------

def _target_table(pipeline: Pipeline) -> str:
    configured = ((pipeline.configuration or {}).get("target") or {}).get("table")
    return sanitize_identifier(configured or pipeline.name)


def sample_rows(run: PipelineRun, limit: int = SAMPLE_ROWS) -> list[dict]:
    from staging.masking import QuarantineMasker
    from staging.quarantine import QuarantinedRow

    rows = QuarantinedRow.objects.filter(pipeline_run_id=run.pk).order_by("row_number", "id")[:limit]
    # Alerts go to mailboxes and webhooks nobody vets: values of sensitive columns never leave masked.
    masker = QuarantineMasker(None)
    return [{"row_number": r.row_number, "column": r.column_name, "value": masker.value(r), "rule": r.rule,
             "reason": masker.reason(r)} for r in rows]


def downstream_tables(table: str) -> list[str]:
    """Tables fed from `table` according to data_lineage (a few hops); best effort, [] if unavailable."""
    try:
        return lineage_queries.downstream_tables(table, depth=LINEAGE_DEPTH)
    except Exception as exc:  # noqa: BLE001 - lineage is context; an alert must go out without it
        logger.warning("alerts: downstream tables of %s unavailable: %s", table, exc)
        return []


def _context(run: PipelineRun) -> dict:
    return {"run_id": run.pk, "samples": sample_rows(run),
            "downstream_tables": downstream_tables(_target_table(run.pipeline))}


# --- messages and delivery --------------------------------------------------------------------------------

def _level_label(level) -> str:
    """An alert level in words (the payload keeps the code)."""
    return str(dict(AlertLevel.choices).get(level, level or "-"))


def _render(alert: Alert, kind: str) -> tuple[str, str, dict]:
    pipeline = alert.pipeline
    condition = alert.get_condition_display()
    details = alert.details or {}
    if kind == NotificationKind.RECOVERED:
        subject = _("[ETL] Recovered: %(pipeline)s — %(condition)s") % {"pipeline": pipeline.name,
                                                                       "condition": condition}
    elif kind == NotificationKind.REMINDER:
        subject = _("[ETL] Still failing: %(pipeline)s — %(condition)s") % {"pipeline": pipeline.name,
                                                                           "condition": condition}
    else:
        subject = _("[ETL] Alert: %(pipeline)s — %(condition)s") % {"pipeline": pipeline.name,
                                                                   "condition": condition}
    lines = [_("Pipeline: %(name)s (id %(id)s)") % {"name": pipeline.name, "id": pipeline.pk},
             _("Condition: %(condition)s") % {"condition": condition}]
    if kind == NotificationKind.RECOVERED:
        lines.append(_("The condition no longer holds (run %(run)s). Opened at %(opened)s, resolved at "
                       "%(resolved)s.") % {"run": alert.last_run_id or "-", "opened": alert.opened_at.isoformat(),
                                           "resolved": alert.resolved_at.isoformat()})
    else:
        lines.append(_("What failed: %(what)s") % {"what": details.get("what", "")})
        if details.get("error_message"):
            lines.append(_("Error: %(error)s") % {"error": details["error_message"]})
        if details.get("rule"):
            lines.append(_("Rule: %(rule)s") % {"rule": details["rule"]})
        if details.get("threshold") not in (None, ""):
            lines.append(_("Threshold: %(threshold)s") % {"threshold": details["threshold"]})
        for finding in details.get("findings", []):
            lines.append(_("Finding (%(level)s): rule %(rule)s, threshold %(threshold)s, value %(value)s. "
                           "%(summary)s") % {"level": _level_label(finding.get("alert_level")),
                                             "rule": finding.get("rule") or "-",
                                             "threshold": finding.get("threshold") if finding.get("threshold")
                                             is not None else "-",
                                             "value": finding.get("value") if finding.get("value") is not None
                                             else "-", "summary": finding.get("summary") or ""})
        if details.get("samples"):
            lines.append(_("Sample rows:"))
            lines.extend(f"  #{s['row_number']} {s['column']}={s['value']!r}: {s['rule']} — {s['reason']}"
                         for s in details["samples"])
        lines.append(_("Downstream tables affected: %(tables)s") % {
            "tables": ", ".join(details.get("downstream_tables") or []) or _("none known")})
        if alert.occurrences > 1:
            lines.append(_("Occurrences since it opened: %(n)d") % {"n": alert.occurrences})
    payload = {"event": kind, "alert_id": alert.pk, "pipeline": {"id": pipeline.pk, "name": pipeline.name},
               "condition": alert.condition, "status": alert.status, "opened_at": alert.opened_at.isoformat(),
               "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
               "run_id": alert.last_run_id, "occurrences": alert.occurrences, "details": details,
               "subject": subject, "text": "\n".join(lines)}
    secrets = source_secrets(pipeline.data_source)
    return scrub(subject, secrets), scrub("\n".join(lines), secrets), scrub(payload, secrets)


def _recipients(pipeline: Pipeline) -> tuple[list[str], str]:
    config = (pipeline.configuration or {}).get("alerts") or {}
    emails = config.get("emails") or getattr(settings, "ETL_ALERT_EMAILS", []) or []
    if isinstance(emails, str):
        emails = [e.strip() for e in emails.split(",") if e.strip()]
    webhook = config.get("webhook_url") or getattr(settings, "ETL_ALERT_WEBHOOK_URL", "") or ""
    return list(emails), webhook


def _notify(alert: Alert, kind: str) -> Notification:
    subject, body, payload = _render(alert, kind)
    notification = Notification(alert=alert, kind=kind, subject=subject, body=body, payload=payload)
    emails, webhook = _recipients(alert.pipeline)
    if emails:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails, fail_silently=False)
            notification.delivered.append("email")
        except Exception as exc:  # noqa: BLE001 - SMTP errors are many kinds; log, do not fail the run
            logger.warning("alert %s: e-mail to %s failed: %s", alert.pk, emails, exc)
            notification.failed.append("email")
    if webhook:
        try:
            response = requests.post(webhook, json=payload, timeout=WEBHOOK_TIMEOUT_SECONDS)
            response.raise_for_status()
            notification.delivered.append("webhook")
        except requests.RequestException as exc:
            logger.warning("alert %s: webhook %s failed: %s", alert.pk, webhook, exc)
            notification.failed.append("webhook")
    logger.info("alert %s (%s %s): %s via %s", alert.pk, alert.condition, kind, subject,
                ", ".join(notification.delivered) or "no channel")
    return notification
