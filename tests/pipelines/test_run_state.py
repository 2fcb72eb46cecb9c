"""The typed run state reads and writes the execution_context JSON that pages, the API and older runs know."""

from pipelines.models import PipelineRun
from pipelines.run_state import SplitState, Step, run_progress_of, split_state_of

SPLIT = {"parts": 2, "attempt": 1, "ranges": [{"start": 0}, {"start": 10}], "staging_table": "stg_run_7",
         "target_table": "orders", "keys_table": None, "output_schema": [["_row_number", "int64"]],
         "drift": {"policy": "evolve", "added": []}, "source_columns": [["id", "string"]],
         "schema_diff": {"added": [], "removed": [], "changed": []}, "file_id": None}


def test_steps_are_the_strings_stored_in_the_context():
    assert [Step(value) for value in ("pending", "extract", "stage", "load", "commit", "analyze", "retry_wait",
                                      "skipped", "done", "failed", "cancelled")]
    assert Step.LOAD == "load" and f"{Step.COMMIT}" == "commit"


def test_progress_is_read_as_a_step_and_an_unknown_step_as_it_is_stored():
    progress = run_progress_of(PipelineRun(execution_context={"step": "load", "rows_read": 5}))
    assert progress.step is Step.LOAD and progress.rows_read == 5 and progress.rows_loaded == 0
    assert run_progress_of(PipelineRun(execution_context={})).step is Step.PENDING
    assert run_progress_of(PipelineRun(execution_context={"step": "warming_up"})).step == "warming_up"


def test_split_state_round_trips_the_stored_plan():
    stored = {**SPLIT, "commit_sent": True}  # services.run_split_commit_claim adds it
    state = split_state_of(PipelineRun(execution_context={"split": stored}))
    assert state.attempt == 1 and state.as_context() == SPLIT
    assert SplitState.from_context({"split": {"parts": 1, "reason": "compressed"}}) is None
    assert split_state_of(PipelineRun(execution_context={})) is None
