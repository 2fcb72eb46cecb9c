"""What analytics.masking (the masking API) needs to know from the pipelines to mask a run's rows: the
target table the run loads. Analytics does not import the pipelines, so the lookup is given to it from here."""

from __future__ import annotations

from analytics.masking import QuarantineMasker as _QuarantineMasker


def run_target_table(run_id: int | None) -> str:
    """The target table run `run_id` loads ("" for no run or an unknown one)."""
    if run_id is None:
        return ""
    from pipelines.models import PipelineRun  # here: the pipelines app imports staging at module level

    run = PipelineRun.objects.select_related("pipeline").filter(pk=run_id).first()
    return run.pipeline.target_table if run else ""


class QuarantineMasker(_QuarantineMasker):
    """analytics.masking.QuarantineMasker with the pipelines' answer to "which target table"."""

    def __init__(self, user):
        super().__init__(user, target_table_of=run_target_table)
