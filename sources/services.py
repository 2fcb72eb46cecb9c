"""Operations on data sources that views, the admin and commands share."""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from sources.connectors import CONNECTORS, ConnectionCheck, ConnectorError, connector_class, get_connector
from sources.fileroots import PERMISSION, fixed_part, path_problems, real_path, upload_folder
from sources.models import DataSource
from sources.scrubbing import scrub_for_source
from sources.secrets import PLACEHOLDER, secrets_merge
from staging.ownership import upload_path_visible, uploads_all_visible


def source_config_merge(*, source: DataSource | None, source_type: str | None, config: Any) -> Any:
    """The configuration to save when `config` comes back from a form or the API (secrets masked).

    The stored secrets go back where the placeholder came back; but not when the source now points
    elsewhere (another host, port, URL, bucket, broker... as its connector declares in DESTINATION_KEYS, or
    another source type): a stored secret is never sent to a new destination unless it is typed again in
    the same save. Raises ValidationError naming the keys.
    """
    stored = source.connection_config if source is not None and source.pk else {}
    stored_type = source.source_type if source is not None and source.pk else source_type
    merge = secrets_merge(config, stored, source_type=source_type, old_source_type=stored_type)
    if merge.moved and merge.restored:
        raise ValidationError(
            _("The source now points elsewhere (%(keys)s changed), so its stored secrets are not sent there: type "
              "the values of %(paths)s again (in place of %(placeholder)s).")
            % {"keys": ", ".join(merge.moved), "paths": ", ".join(merge.restored), "placeholder": PLACEHOLDER},
            code="secrets_not_reentered")
    if merge.unresolved:
        raise ValidationError(
            _("No stored secret matches the placeholder %(placeholder)s at %(paths)s: type the value.")
            % {"placeholder": PLACEHOLDER, "paths": ", ".join(merge.unresolved)}, code="placeholder")
    return merge.config


def source_test_connection(*, source: DataSource) -> ConnectionCheck:
    """Can the source be reached and read? A ConnectionCheck, never an exception, for user problems; its
    message and details never quote a secret of the source (an API may echo them)."""
    check = _test_connection(source)
    return ConnectionCheck(ok=check.ok, message=scrub_for_source(check.message, source),
                           details=scrub_for_source(check.details, source))


def _test_connection(source: DataSource) -> ConnectionCheck:
    try:
        connector = get_connector(source.source_type, source.connection_config or {})
    except ConnectorError as exc:
        return ConnectionCheck(ok=False, message=str(exc), details={})
    try:
        return connector.test_connection()
    except ConnectorError as exc:  # a connector that raises instead of reporting
        return ConnectionCheck(ok=False, message=str(exc), details={})
    except OSError as exc:
        return ConnectionCheck(ok=False, message=_("Could not reach the source: %(error)s") % {"error": exc},
                               details={})


def _server_paths(source_type, config) -> dict[str, str]:
    if source_type not in CONNECTORS or not isinstance(config, dict):
        return {}
    return connector_class(source_type).server_paths(config)


def server_files_errors(*, user, paths: dict[str, str], kept: dict[str, str]) -> list[str]:
    """Why `user` may not save these server paths ({key: path}): those outside the upload folder that are new
    or changed (not in `kept`, what is stored) take the permission "Can read files on the server". Paths an
    administrator saved stay as they are when an editor changes something else."""
    if user is None or user.has_perm(PERMISSION):
        return []
    changed = {key: value for key, value in paths.items() if kept.get(key) != value}
    errors = uploads_paths_errors(user=user, paths=changed)
    outside = [key for key, value in changed.items() if path_problems({key: value})[1]]
    if not outside:
        return errors
    return errors + [_("%(keys)s points at files on the server outside the upload folder, which takes the permission "
              "\"Can read files on the server\" (administrators have it). Upload the file instead: a file source "
              "without file_path reads the file each run is started on.") % {"keys": ", ".join(outside)}]


def uploads_paths_errors(*, user, paths: dict[str, str]) -> list[str]:
    """Why `user` may not read these server paths ({key: path or glob}) that lie in the upload folder: each
    must name one upload the user may see (staging.ownership, the files API's rule), or the upload folder
    would hand anybody's upload to whoever types its path. Paths outside the folder are judged elsewhere."""
    if user is not None and (user.has_perm(PERMISSION) or uploads_all_visible(user)):
        return []
    uploads = upload_folder()
    refused = []
    for key, value in paths.items():
        if not isinstance(value, str):
            continue
        if real_path(fixed_part(os.path.expanduser(value))).is_relative_to(uploads) and not upload_path_visible(
                user=user, path=value):
            refused.append(key)
    if not refused:
        return []
    return [_("%(keys)s points into the upload folder at something other than a file you uploaded: a file source "
              "may name only an upload you can see (no wildcards there). Upload the file instead.")
            % {"keys": ", ".join(refused)}]


def source_server_files_errors(*, user, source_type, config, stored: DataSource | None = None) -> list[str]:
    """server_files_errors for a source's connection_config (`stored`: the source as saved, if it is)."""
    kept = {}
    if stored is not None and stored.source_type == source_type:
        kept = _server_paths(stored.source_type, stored.connection_config)
    return server_files_errors(user=user, paths=_server_paths(source_type, config), kept=kept)


def run_uploads_check(*, triggered_by: str, source: DataSource, config: dict) -> None:
    """Raises PathNotAllowed when a run started by a person would read, through its source's configured
    paths, an upload that person may not see.

    The save check judges the user who saves the source; a run may be started by somebody else, and a source
    saved before the rule existed was never judged. So the run judges the person who starts it: starting a
    run is how the file's rows reach a table that person reads. Runs started by the scheduler or a command
    (no user account of that name) have no person to judge: the source's path passed the save check, or an
    administrator with shell access chose it."""
    from django.contrib.auth import get_user_model

    from etlsite.messages import _msg
    from sources.fileroots import PathNotAllowed

    user = get_user_model().objects.filter(username=triggered_by).first() if triggered_by else None
    if user is None:
        return
    refused = uploads_paths_errors(user=user, paths=_server_paths(source.source_type, config))
    if refused:
        raise PathNotAllowed(
            _msg("The source reads an upload that %(user)s, who started the run, may not see: a file source may "
                 "name only an upload its user can see.") % {"user": triggered_by})


def source_reads_uploads_only(source: DataSource) -> bool:
    """A file source without file_path: each run reads the file it is started on, and cannot run without one."""
    return source.source_type == "file" and not _server_paths(source.source_type, source.connection_config or {})


def uploads_only_refusal() -> str:
    """What a start without a file of an upload-only source is told (the connector says the same at run time)."""
    return _("This source reads uploaded files only: start its run on an uploaded file (the upload page, the "
             "API's file or file_id, run_pipeline --file).")
