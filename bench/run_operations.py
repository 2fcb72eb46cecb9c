"""`python -m bench.run_operations RUN_ID`: the run's processing_logs rows (the engine's own timers), as one
BENCH_RESULT line: wall seconds and rows per operation, and the run's duration (inside Django)."""

from __future__ import annotations

import os
import sys

from bench.measure import report_inner


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etlsite.settings")
    import django

    django.setup()
    from pipelines.models import PipelineRun
    from staging.models import ProcessingLog

    run_id = int(sys.argv[1])
    run = PipelineRun.objects.get(pk=run_id)
    rows = ProcessingLog.objects.filter(pipeline_run_id=run_id).order_by("created_at")
    report_inner(run=run_id, run_seconds=run.duration_seconds, operations={
        log.operation_type: {"seconds": log.processing_time_seconds, "rows": log.records_processed}
        for log in rows})


if __name__ == "__main__":
    main()
