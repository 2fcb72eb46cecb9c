"""The upload page: choose a pipeline, drop files, upload them in resumable chunks, preview (dry run), map
columns, start the run and follow its progress."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analytics.masking import hidden_columns, mask_reason, mask_rows, mask_value
from pipelines.decisions import MappingError, column_mapping_save
from pipelines.models import Pipeline
from pipelines.selectors import run_by_id, upload_pipelines
from pipelines.services import pipeline_may_run, run_trigger
from sources.connectors.base import ConnectorError
from staging.models import FileMetadata
from staging.ownership import upload_visible_get
from webui import chunked
from webui.access import page
from webui.jsonapi import endpoint, json_body, json_error
from webui.preview import columns_missing, file_preview
from webui.progress import run_progress_payload
from webui.views.newpipeline import may_create_from_upload

# The pipeline choice that means "a new pipeline from the file" (webui/views/newpipeline.py).
NEW = "new"


@page("pipelines.view_pipeline")
@require_GET
def upload(request):
    pipelines = list(upload_pipelines())
    chosen = request.GET.get("pipeline")
    creating = may_create_from_upload(request.user)
    if chosen and chosen.isdigit():
        chosen = int(chosen)
    elif chosen != NEW or not creating:
        # Nothing chosen: a new pipeline from the file when the user may create one (a first visit has only the
        # demo's pipeline, which is not theirs); otherwise the only pipeline there is.
        chosen = NEW if creating else (pipelines[0].pk if len(pipelines) == 1 else None)
    return render(request, "webui/upload.html", {
        "pipelines": pipelines, "can_create": creating, "new_choice": NEW,
        "chosen": chosen,
        "chunk_bytes": settings.ETL_UPLOAD_CHUNK_BYTES,
        "max_bytes": settings.ETL_UPLOAD_MAX_BYTES,
        "allowed": ", ".join(sorted(chunked.ALLOWED_SUFFIXES)),
        "js_text": {
            "uploading": _("Uploading…"), "uploaded": _("Uploaded."), "resumed": _("Resuming from %s."),
            "duplicate": _("The same content was uploaded before as %s. A pipeline that loaded it already skips it "
                           "unless “Load it even if this pipeline loaded the same file before” is ticked."),
            "failed": _("Failed: %s"), "started": _("Run #%s started."), "rows": _("%s rows read"),
            "network": _("The connection was lost; choose the file again to resume."),
            "choose": _("Choose a pipeline first."), "ended": _("The run ended: %s."),
            "new_ready": _("Uploaded. Next: check how it reads and create its pipeline."),
        },
    })


@endpoint("staging.add_filemetadata")
@require_POST
def session_open(request):
    data = json_body(request)
    try:
        size, modified = int(data.get("size", -1)), int(data.get("modified", 0))
        session = chunked.session_open(user_id=request.user.pk, client_id=str(data.get("client_id", ""))[:100],
                                       name=str(data.get("name", "")), size=size, modified=modified)
    except (TypeError, ValueError) as exc:
        message = str(exc) if isinstance(exc, chunked.UploadError) else _("The file's name and size are needed.")
        return json_error(message)
    return JsonResponse({"key": session.key, "received": session.received, "size": session.size,
                         "chunk_url": reverse("webui:upload-chunk", args=[session.key]),
                         "finish_url": reverse("webui:upload-finish", args=[session.key])})


@endpoint("staging.add_filemetadata")
@require_http_methods(["PUT"])
def session_chunk(request, key):
    try:
        session = chunked.session_get(key, user_id=request.user.pk)
        offset = int(request.headers.get("X-Upload-Offset", "-1"))
        # Read past the limit by one byte: more than a chunk is refused, not silently cut.
        data = request.read(settings.ETL_UPLOAD_CHUNK_BYTES + 1)
        if len(data) > settings.ETL_UPLOAD_CHUNK_BYTES:
            return json_error(_("A chunk may be at most %(n)d bytes.") % {"n": settings.ETL_UPLOAD_CHUNK_BYTES}, 413)
        if offset != session.received:
            return json_error(_("Continue from byte %(n)d.") % {"n": session.received}, 409,
                              received=session.received)
        received = chunked.chunk_append(session=session, offset=offset, data=data)
    except chunked.UploadError as exc:
        return json_error(str(exc))
    except ValueError:
        return json_error(_("X-Upload-Offset must be a number of bytes."))
    return JsonResponse({"received": received})


@endpoint("staging.add_filemetadata")
@require_POST
def session_finish(request, key):
    try:
        registered = chunked.session_finish(session=chunked.session_get(key, user_id=request.user.pk),
                                            uploaded_by=request.user.get_username())
    except chunked.UploadError as exc:
        return json_error(str(exc))
    duplicate = registered.duplicate_of
    if duplicate is not None and upload_visible_get(user=request.user, file_id=duplicate.pk) is None:
        duplicate = None  # another user's file: not named to this one
    return JsonResponse({
        "file_id": registered.file.pk, "name": registered.file.original_filename,
        "duplicate_of": ({"id": duplicate.pk, "name": duplicate.original_filename,
                          "uploaded": duplicate.created_at.isoformat()} if duplicate else None),
        "preview_url": reverse("webui:upload-preview", args=[registered.file.pk]),
        "run_url": reverse("webui:upload-run", args=[registered.file.pk]),
        "new_pipeline_url": reverse("webui:upload-new-pipeline", args=[registered.file.pk]),
    })


def _own_file(request, file_id: int) -> FileMetadata:
    file = upload_visible_get(user=request.user, file_id=file_id)
    if file is None:
        raise Http404(_("No such file."))
    return file


def _pipeline(request) -> Pipeline:
    value = request.POST.get("pipeline") or request.GET.get("pipeline") or ""
    if not value.isdigit():
        raise Http404(_("Choose a pipeline."))
    return get_object_or_404(upload_pipelines(), pk=int(value))


def _render_preview(request, file, pipeline, *, status=200, mapping_error=""):
    try:
        preview = file_preview(file=file, pipeline=pipeline)
    except ConnectorError as exc:
        return render(request, "webui/_preview.html", {"file": file, "read_error": exc.message}, status=200)
    except (OSError, ValueError) as exc:
        return render(request, "webui/_preview.html", {"file": file, "read_error": str(exc)}, status=200)
    hidden = hidden_columns(request.user, target_table=pipeline.target_table)
    names = [column.name for column in preview.columns]
    preview.rows = mask_rows(names, preview.rows, hidden)
    for error in preview.errors:
        error["reason"] = mask_reason(error["reason"], error["value"], error["column"], hidden)
        error["value"] = mask_value(error["value"], error["column"], hidden)
    mapped = pipeline.config.column_mapping
    choices = [{"file_name": c.file_name, "source": c.source, "mapped_to": mapped.get(c.source, "")}
               for c in preview.columns if c.source not in preview.expected or c.source in mapped]
    return render(request, "webui/_preview.html", {
        "file": file, "pipeline": pipeline, "preview": preview, "mapping": mapped, "map_columns": choices,
        "mapping_error": mapping_error,
        "can_map": request.user.has_perm("pipelines.change_pipeline"),
    }, status=status)


@page("pipelines.view_pipeline", "staging.view_filemetadata")
@require_GET
def file_preview_view(request, file_id):
    return _render_preview(request, _own_file(request, file_id), _pipeline(request))


@page("pipelines.change_pipeline")
@require_POST
def mapping_save_view(request, file_id):
    file, pipeline = _own_file(request, file_id), _pipeline(request)
    sources = request.POST.getlist("source")
    targets = request.POST.getlist("target")
    try:
        column_mapping_save(pipeline=pipeline, pairs=list(zip(sources, targets, strict=False)))
    except MappingError as exc:
        return _render_preview(request, file, pipeline, mapping_error=str(exc))
    pipeline.refresh_from_db()
    return _render_preview(request, file, pipeline)


@endpoint("pipelines.change_pipeline", "pipelines.add_pipelinerun")
@require_POST
def run_start(request, file_id):
    try:
        file, pipeline = _own_file(request, file_id), _pipeline(request)
    except Http404 as exc:
        return json_error(str(exc) or _("No such file or pipeline."), 404)
    if not pipeline_may_run(pipeline):
        return json_error(_("This pipeline cannot run (deleted or deprecated)."))
    missing = columns_missing(file=file, pipeline=pipeline)
    if missing:  # the preview says so too, and the page keeps "Process" disabled: a run could only fail
        return json_error(_("The pipeline expects columns this file lacks: %(columns)s. Map the file's columns to "
                            "them in the preview before processing it.") % {"columns": ", ".join(missing)})
    run = run_trigger(pipeline=pipeline, triggered_by=request.user.get_username(), file=file,
                      load_again=request.POST.get("load_again") in ("1", "true", "on"))
    return JsonResponse({"run_id": run.pk, "progress_url": reverse("webui:run-progress", args=[run.pk]),
                         "detail_url": reverse("webui:run-detail", args=[run.pk])})


@endpoint("pipelines.view_pipelinerun")
@require_GET
def run_progress(request, run_id):
    run = run_by_id(run_id)
    if run is None:
        return json_error(_("No such run."), 404)
    return JsonResponse(run_progress_payload(run))
