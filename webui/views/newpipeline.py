"""/upload/files/<id>/new-pipeline/: a new pipeline from an uploaded file. GET shows how the file reads and
the form with proposed types and rules; POST creates the source, the pipeline and the run
(pipelines.from_upload) and lands on the run's page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pipelines.from_upload import PERMISSIONS, NewPipeline, create_pipeline_from_upload, proposed_names
from sources.connectors.base import ConnectorError
from staging.ownership import upload_visible_get
from webui.access import page
from webui.newpipeline import ENCODINGS, file_look, read_options
from webui.newpipeline_forms import NewPipelineForm, column_formset

# Creating (pipelines.from_upload.PERMISSIONS), and reading the uploaded file.
PAGE_PERMISSIONS = (*PERMISSIONS, "staging.view_filemetadata")


def may_create_from_upload(user) -> bool:
    """Whether the upload page offers "a new pipeline from the file": uploading it and this page."""
    return user.has_perms((*PAGE_PERMISSIONS, "staging.add_filemetadata"))


@page(*PAGE_PERMISSIONS)
@require_http_methods(["GET", "POST"])
def new_pipeline(request, file_id):
    file = upload_visible_get(user=request.user, file_id=file_id)
    if file is None:
        raise Http404(_("No such file."))
    data = request.POST if request.method == "POST" else None
    encoding = (data or request.GET).get("encoding") or ""
    encoding = encoding if encoding in ENCODINGS else ""
    context = {"file": file, "encoding": encoding, "encodings": ENCODINGS}
    try:
        look = file_look(file, encoding=encoding)
    except ConnectorError as exc:
        return render(request, "webui/new_pipeline.html", {**context, "read_error": exc.message})
    except (OSError, ValueError) as exc:
        return render(request, "webui/new_pipeline.html", {**context, "read_error": str(exc)})
    name, table = proposed_names(file.original_filename)
    form = NewPipelineForm(data, initial={"name": name, "target_table": table,
                                          "null_values": ", ".join(look.null_values)})
    columns = column_formset(look.profile, data)
    if data is not None and form.is_valid() and columns.is_valid():
        new = NewPipeline(name=form.cleaned_data["name"], target_table=form.cleaned_data["target_table"],
                          null_values=form.cleaned_data["null_values"], contract=look.profile.contract,
                          read_options=read_options(encoding),
                          columns=[column.choice() for column in columns.forms])
        try:
            run = create_pipeline_from_upload(file=file, user=request.user, new=new)
        except ValidationError as exc:
            for key, problems in exc.message_dict.items():
                form.add_error(key if key in form.fields else None, problems)
        else:
            messages.success(request, _("The pipeline %(name)s was created and run #%(run)d loads %(file)s.")
                             % {"name": new.name, "run": run.pk, "file": file.original_filename})
            return redirect("webui:run-detail", run_id=run.pk)
    return render(request, "webui/new_pipeline.html", {
        **context, "look": look, "form": form, "columns": columns,
        "rows_shown": look.rows[:5],
    })
