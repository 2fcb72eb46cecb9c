"""Operations on data sources that views, the admin and commands share."""

from __future__ import annotations

from django.utils.translation import gettext as _

from sources.connectors import CONNECTORS, ConnectionCheck, ConnectorError, connector_class, get_connector
from sources.fileroots import PERMISSION, path_problems
from sources.models import DataSource


def source_test_connection(*, source: DataSource) -> ConnectionCheck:
    """Can the source be reached and read? A ConnectionCheck, never an exception, for user problems."""
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


def source_server_files_errors(*, user, source_type, config, stored: DataSource | None = None) -> list[str]:
    """Why `user` may not save this configuration: it points at files on the server outside the upload folder
    (new or changed paths), which takes the permission "Can read files on the server". Paths an administrator
    saved stay as they are when an editor changes something else."""
    if user is None or user.has_perm(PERMISSION):
        return []
    kept = _server_paths(stored.source_type, stored.connection_config) if stored is not None else {}
    kept = kept if stored is not None and stored.source_type == source_type else {}
    outside = [key for key, value in _server_paths(source_type, config).items()
               if kept.get(key) != value and path_problems({key: value})[1]]
    if not outside:
        return []
    return [_("%(keys)s points at files on the server outside the upload folder, which takes the permission "
              "\"Can read files on the server\" (administrators have it). Upload the file instead: a file source "
              "without file_path reads the file each run is started on.") % {"keys": ", ".join(outside)}]
