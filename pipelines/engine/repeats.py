"""A file a pipeline already loaded is not loaded again unless someone asks for it.

Four runs of one file used to leave four copies in the target. A file run records the SHA-256 of what it
reads (execution_context["file_sha256"]: of the file, or of the sorted list of a glob's files' digests);
when an earlier successful run of the same pipeline read the same bytes, the run ends cancelled with a
message naming that run and loads nothing. `load_again` in the run's context (`run_pipeline --load-again`,
the API's and the upload page's option, every re-run) loads it anyway.
"""

from __future__ import annotations

import hashlib

from pipelines.models import PipelineRun, RunStatus
from sources.connectors.file import sha256_of

FINGERPRINT_KEY = "file_sha256"
LOAD_AGAIN_KEY = "load_again"


def file_paths(connector) -> list[str]:
    return sorted({member.path for member in connector.members()})


def file_fingerprint(paths: list[str]) -> str:
    digests = [sha256_of(path) for path in paths]
    if len(digests) == 1:
        return digests[0]  # the same value as file_metadata.file_hash of an upload
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def loads_again(run: PipelineRun) -> bool:
    return bool((run.execution_context or {}).get(LOAD_AGAIN_KEY))


def earlier_load(run: PipelineRun, fingerprint: str) -> PipelineRun | None:
    """The latest successful run of the pipeline that read these same bytes, unless this run asks to load
    them again."""
    if loads_again(run):
        return None
    return (PipelineRun.objects.filter(pipeline_id=run.pipeline_id, status=RunStatus.SUCCESS,
                                       execution_context__file_sha256=fingerprint)
            .exclude(pk=run.pk).order_by("-pk").first())
