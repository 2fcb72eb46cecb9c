"""Connectors by source type: a lazy registry of dotted paths, imported on first use.

A connector's module may need a driver that a deployment lacks (Kafka, HDFS...); nothing is imported until a
source of that type is used.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from sources.connectors.base import ConnectionCheck, Connector, ConnectorError

__all__ = ["CONNECTORS", "ConnectionCheck", "Connector", "ConnectorError", "connector_class",
           "connector_config_errors", "get_connector"]

CONNECTORS: dict[str, str] = {
    "file": "sources.connectors.file.FileConnector",
    "database": "sources.connectors.database.DatabaseConnector",
    "api": "sources.connectors.api.ApiConnector",
    "s3": "sources.connectors.s3.S3Connector",
    "kafka": "sources.connectors.kafka.KafkaConnector",
    "hdfs": "sources.connectors.hdfs.HdfsConnector",
}


@cache
def _import(dotted_path: str) -> type[Connector]:
    return import_string(dotted_path)


def _unknown(source_type: Any) -> str:
    return _("No connector is available for source type '%(type)s' (available: %(available)s).") % {
        "type": source_type, "available": ", ".join(sorted(CONNECTORS)),
    }


def connector_class(source_type: str) -> type[Connector]:
    try:
        path = CONNECTORS[source_type]
    except (KeyError, TypeError):
        raise ConnectorError(_unknown(source_type), permanent=True) from None
    return _import(path)


def connector_config_errors(source_type: str, config: Any) -> list[str]:
    """Specific messages for everything wrong with `config` for this source type; [] when it is usable."""
    if not isinstance(source_type, str) or source_type not in CONNECTORS:
        return [_unknown(source_type)]
    cls = connector_class(source_type)
    errors = cls.config_errors(config)
    if isinstance(config, dict):
        from sources.fileroots import path_problems

        errors += path_problems(cls.server_paths(config))[0]
    return errors


def get_connector(source_type: str, config: dict) -> Connector:
    """A connector for the source; ConnectorError(permanent=True) for an unknown type or an invalid config."""
    cls = connector_class(source_type)
    errors = cls.config_errors(config)
    if errors:
        raise ConnectorError("; ".join(errors), permanent=True)
    return cls(config)
