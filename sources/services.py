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


def server_files_errors(*, user, paths: dict[str, str], kept: dict[str, str]) -> list[str]:
    """Why `user` may not save these server paths ({key: path}): those outside the upload folder that are new
    or changed (not in `kept`, what is stored) take the permission "Can read files on the server". Paths an
    administrator saved stay as they are when an editor changes something else."""
    if user is None or user.has_perm(PERMISSION):
        return []
    outside = [key for key, value in paths.items() if kept.get(key) != value and path_problems({key: value})[1]]
    if not outside:
        return []
    return [_("%(keys)s points at files on the server outside the upload folder, which takes the permission "
              "\"Can read files on the server\" (administrators have it). Upload the file instead: a file source "
              "without file_path reads the file each run is started on.") % {"keys": ", ".join(outside)}]


def source_server_files_errors(*, user, source_type, config, stored: DataSource | None = None) -> list[str]:
    """server_files_errors for a source's connection_config (`stored`: the source as saved, if it is)."""
    kept = {}
    if stored is not None and stored.source_type == source_type:
        kept = _server_paths(stored.source_type, stored.connection_config)
    return server_files_errors(user=user, paths=_server_paths(source_type, config), kept=kept)
