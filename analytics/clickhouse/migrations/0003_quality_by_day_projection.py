"""data_quality_metrics: a per-day aggregate projection for the data-quality dashboard.

The dashboard's pass rate per day and latest null rate per column read every metric of the period; over ten
million rows that is a full scan of the period's parts. The projection keeps, inside each part, one row per
(table, metric, column, day) with the counts and the latest value, and ClickHouse answers those queries from
it automatically (queries filter and group by ``toDate(created_at)``, which the projection's key holds).
It stays exact: inserts fill it, and the ``ALTER TABLE ... DELETE`` mutations that replace a run's metrics
rebuild it with the part. MATERIALIZE builds it for the rows already there.
"""

description = "data_quality_metrics: projection quality_by_day"

operations = [
    """
    ALTER TABLE data_quality_metrics ADD PROJECTION IF NOT EXISTS quality_by_day
    (
        SELECT table_name, metric_name, column_name, toDate(created_at), count(), countIf(is_passed),
               argMax(metric_value, created_at), max(created_at)
        GROUP BY table_name, metric_name, column_name, toDate(created_at)
    )
    """,
    "ALTER TABLE data_quality_metrics MATERIALIZE PROJECTION quality_by_day SETTINGS mutations_sync = 2",
]
