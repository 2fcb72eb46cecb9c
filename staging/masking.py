"""Values of quarantined rows as one viewer may see them (see analytics.masking)."""

from __future__ import annotations

from typing import Any

from analytics.masking import RunMasker


class QuarantineMasker:
    def __init__(self, user):
        self._masker = RunMasker(user)
        self._tables: dict[int, str] = {}

    @property
    def allowed(self) -> bool:
        return self._masker.allowed

    def _target_table(self, run_id: int) -> str:
        if run_id not in self._tables:
            from pipelines.engine.runner import target_table_name
            from pipelines.models import PipelineRun

            run = PipelineRun.objects.select_related("pipeline").filter(pk=run_id).first()
            self._tables[run_id] = target_table_name(run.pipeline) if run else ""
        return self._tables[run_id]

    def reason(self, row) -> str:
        """The reason with the value it quotes masked, when the value is."""
        if row.value and self.value(row) is not row.value:
            return row.reason.replace(row.value, self.value(row))
        return row.reason

    def value(self, row, field: str = "value") -> Any:
        value = getattr(row, field)
        if self.allowed or value is None:
            return value
        return self._masker.value(value, column=row.column_name, target_table=self._target_table(row.pipeline_run_id),
                                  staging_table=row.staging_table)
