"""Operations on data sources that views, the admin and commands share."""

from __future__ import annotations

from django.utils.translation import gettext as _

from sources.connectors import ConnectionCheck, ConnectorError, get_connector
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
