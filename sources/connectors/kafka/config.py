"""The Kafka connector's connection_config: its keys, the librdkafka properties they set, and the problems of a
configuration."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from sources.connectors.filesupport.detection import is_text_encoding

VALUE_FORMATS = ("json", "csv", "text")
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
DEFAULT_MAX_MESSAGES = 100_000
DEFAULT_POLL_TIMEOUT = 5.0
DEFAULT_CONNECT_TIMEOUT = 10.0
METADATA_COLUMNS = ("_kafka_partition", "_kafka_offset", "_kafka_timestamp", "_kafka_key")
# Librdkafka properties each security key sets.
PASSTHROUGH = {
    "security_protocol": "security.protocol", "sasl_mechanism": "sasl.mechanism",
    "sasl_username": "sasl.username", "sasl_password": "sasl.password",
    "ssl_ca_location": "ssl.ca.location", "ssl_certificate_location": "ssl.certificate.location",
    "ssl_key_location": "ssl.key.location", "ssl_key_password": "ssl.key.password",
}
# Keys naming files on this server (sources/fileroots.py); "probe" is librdkafka's word for the system's CAs.
FILE_KEYS = ("ssl_ca_location", "ssl_certificate_location", "ssl_key_location")
NOT_A_PATH = {"ssl_ca_location": "probe"}


def positive_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value > 0


def server_list(value: Any) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]


def config_problems(config: dict) -> list[str]:
    """The problems of a Kafka connection_config's values (its keys are checked by the connector)."""
    errors: list[str] = []
    servers = config.get("bootstrap_servers")
    if servers in (None, "", []):
        errors.append(_("bootstrap_servers is required, e.g. \"broker1:9092,broker2:9092\"."))
    elif not server_list(servers) or any(":" not in item for item in server_list(servers)):
        errors.append(_("bootstrap_servers must list host:port addresses, e.g. \"broker1:9092,broker2:9092\"."))
    for key in ("topic", "group_id"):
        value = config.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.append(_("%(key)s is required.") % {"key": key})
        elif not isinstance(value, str):
            errors.append(_("%(key)s must be a text.") % {"key": key})
    if config.get("value_format", "json") not in VALUE_FORMATS:
        errors.append(_("value_format must be one of: %(formats)s.") % {"formats": ", ".join(VALUE_FORMATS)})
    max_messages = config.get("max_messages", DEFAULT_MAX_MESSAGES)
    if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages <= 0:
        errors.append(_("max_messages must be a positive whole number."))
    for key in ("poll_timeout_seconds", "connect_timeout_seconds"):
        if key in config and not positive_number(config[key]):
            errors.append(_("%(key)s must be a positive number of seconds.") % {"key": key})
    if config.get("auto_offset_reset", "earliest") not in ("earliest", "latest"):
        errors.append(_("auto_offset_reset must be earliest or latest."))
    if not isinstance(config.get("include_metadata", False), bool):
        errors.append(_("include_metadata must be true or false."))
    encoding = config.get("encoding")
    if encoding is not None and not (isinstance(encoding, str) and is_text_encoding(encoding)):
        errors.append(_("encoding '%(encoding)s' is not known.") % {"encoding": encoding})
    delimiter = config.get("delimiter")
    if delimiter is not None and not (isinstance(delimiter, str) and len(delimiter) == 1
                                      and delimiter not in "\r\n\""):
        errors.append(_("delimiter must be a single character."))
    columns = config.get("columns")
    if columns is not None and not (isinstance(columns, list) and columns
                                    and all(isinstance(c, str) and c.strip() for c in columns)
                                    and len(set(columns)) == len(columns)):
        errors.append(_("columns must be a list of distinct column names."))
    if (delimiter is not None or columns is not None) and config.get("value_format", "json") != "csv":
        errors.append(_("delimiter and columns apply to value_format csv only."))
    protocol = config.get("security_protocol", "PLAINTEXT")
    if protocol not in SECURITY_PROTOCOLS:
        errors.append(_("security_protocol must be one of: %(values)s.")
                      % {"values": ", ".join(SECURITY_PROTOCOLS)})
    elif protocol.startswith("SASL_"):
        if config.get("sasl_mechanism", "PLAIN") not in SASL_MECHANISMS:
            errors.append(_("sasl_mechanism must be one of: %(values)s.")
                          % {"values": ", ".join(SASL_MECHANISMS)})
        for key in ("sasl_username", "sasl_password"):
            if not config.get(key):
                errors.append(_("%(key)s is required with security_protocol %(protocol)s.")
                              % {"key": key, "protocol": protocol})
    for key in PASSTHROUGH:
        if key in config and not isinstance(config[key], str):
            errors.append(_("%(key)s must be a text.") % {"key": key})
    return errors
