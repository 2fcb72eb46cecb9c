"""The Kafka connector: the messages of a topic not yet committed by a consumer group, as one bounded read.

connection_config:
- bootstrap_servers (required): "host:9092,host2:9092" or a list; topic (required)
- group_id (required): the consumer group whose committed offsets say where a run starts. Give each pipeline
  its own group: offsets are committed by plain commits (no group membership), which a broker refuses while
  other consumers of the same group are subscribed
- value_format: json (default: each message one JSON object, its keys the columns), csv (each message one or
  more CSV records; columns named by `columns` or column_1, column_2...), text (one column `value`)
- max_messages (default 100,000): most messages one run reads
- poll_timeout_seconds (default 5): the read ends when no message came for this long
- auto_offset_reset: earliest (default) or latest, where a group without committed offsets starts
- include_metadata (default false): adds _kafka_partition, _kafka_offset, _kafka_timestamp and _kafka_key
- encoding (default utf-8), delimiter (csv, default ","), columns (csv)
- security_protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), sasl_mechanism (PLAIN, SCRAM-SHA-256,
  SCRAM-SHA-512), sasl_username, sasl_password, ssl_ca_location, ssl_certificate_location, ssl_key_location,
  ssl_key_password; connect_timeout_seconds (default 10)

A run reads the partitions from the group's committed offsets up to their ends as they were when the run
started (or max_messages, or poll_timeout_seconds of silence), with auto-commit off. The messages are spooled
to a temporary file while their keys are gathered, so every batch has the same columns; then batches go out.
Offsets are committed only by `commit()`, which the engine calls after the load has committed: a run that
fails commits nothing, and the next run reads the same messages again (at-least-once, and the engine's
per-run load keeps the target free of duplicates of a failed run).

Client: confluent-kafka (librdkafka, bundled in its wheels), Confluent's maintained client. Its built-in mock
cluster (`test.mock.num.brokers`) lets the tests run the real protocol in process.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import logging
import struct
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import pyarrow as pa
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sources.connectors.base import DEFAULT_BATCH_ROWS, ConnectionCheck, Connector, ConnectorError
from sources.connectors.filesupport.batching import rows_to_batch, string_schema, to_text
from sources.connectors.filesupport.detection import is_text_encoding

logger = logging.getLogger(__name__)

VALUE_FORMATS = ("json", "csv", "text")
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
DEFAULT_MAX_MESSAGES = 100_000
DEFAULT_POLL_TIMEOUT = 5.0
DEFAULT_CONNECT_TIMEOUT = 10.0
METADATA_COLUMNS = ("_kafka_partition", "_kafka_offset", "_kafka_timestamp", "_kafka_key")
_CONSUME_CHUNK = 1000
_CONSUME_WAIT = 0.2  # seconds one consume() call waits; the idle limit is checked between calls
# Spool record: partition, offset, timestamp (ms), key length (-1: none), value length (-1: tombstone).
_HEADER = struct.Struct(">iqqii")
# Librdkafka properties each security key sets.
_PASSTHROUGH = {
    "security_protocol": "security.protocol", "sasl_mechanism": "sasl.mechanism",
    "sasl_username": "sasl.username", "sasl_password": "sasl.password",
    "ssl_ca_location": "ssl.ca.location", "ssl_certificate_location": "ssl.certificate.location",
    "ssl_key_location": "ssl.key.location", "ssl_key_password": "ssl.key.password",
}
# Keys naming files on this server (sources/fileroots.py); "probe" is librdkafka's word for the system's CAs.
_FILE_KEYS = ("ssl_ca_location", "ssl_certificate_location", "ssl_key_location")
_NOT_A_PATH = {"ssl_ca_location": "probe"}


def _positive_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value > 0


def _servers(value: Any) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]


@dataclass
class _Message:
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None

    @property
    def where(self) -> str:
        return _("partition %(partition)d, offset %(offset)d") % {"partition": self.partition,
                                                                  "offset": self.offset}


class KafkaConnector(Connector):
    kind = "kafka"
    KEYS = ("bootstrap_servers", "topic", "group_id", "value_format", "max_messages", "poll_timeout_seconds",
            "auto_offset_reset", "include_metadata", "encoding", "delimiter", "columns", *_PASSTHROUGH,
            "connect_timeout_seconds")
    SECRET_KEYS = ("sasl_password", "ssl_key_password")
    DESTINATION_KEYS = ("bootstrap_servers", "security_protocol", "ssl_ca_location")

    def __init__(self, config: dict):
        super().__init__(config)
        self.topic: str = config["topic"]
        self.group_id: str = config["group_id"]
        self.value_format: str = config.get("value_format", "json")
        self.max_messages: int = config.get("max_messages", DEFAULT_MAX_MESSAGES)
        self.poll_timeout: float = float(config.get("poll_timeout_seconds", DEFAULT_POLL_TIMEOUT))
        self.connect_timeout: float = float(config.get("connect_timeout_seconds", DEFAULT_CONNECT_TIMEOUT))
        self.encoding: str = config.get("encoding") or "utf-8"
        self.include_metadata: bool = config.get("include_metadata", False)
        self._read: dict[int, int] = {}       # partition -> next offset, of every message read
        self._delivered: dict[int, int] = {}  # partition -> next offset, of messages handed out in batches
        self._committed: dict[int, int] = {}
        self._stats: dict[str, Any] = {}
        self._columns: list[str] = []
        self._position: dict[str, int] = {}
        self._last_error: str | None = None

    @classmethod
    def config_errors(cls, config: Any) -> list[str]:
        errors = super().config_errors(config)
        if errors:
            return errors
        errors += cls.unknown_key_errors(config, cls.KEYS, "Kafka")
        servers = config.get("bootstrap_servers")
        if servers in (None, "", []):
            errors.append(_("bootstrap_servers is required, e.g. \"broker1:9092,broker2:9092\"."))
        elif not _servers(servers) or any(":" not in item for item in _servers(servers)):
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
            if key in config and not _positive_number(config[key]):
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
        for key in _PASSTHROUGH:
            if key in config and not isinstance(config[key], str):
                errors.append(_("%(key)s must be a text.") % {"key": key})
        return errors

    @classmethod
    def server_paths(cls, config: Any) -> dict[str, str]:
        if not isinstance(config, dict):
            return {}
        return {key: config[key] for key in _FILE_KEYS
                if isinstance(config.get(key), str) and config[key].strip() and config[key] != _NOT_A_PATH.get(key)}

    # -- the client ------------------------------------------------------------------------------------------

    def _client_config(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "bootstrap.servers": ",".join(_servers(self.config["bootstrap_servers"])),
            "group.id": self.group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": self.config.get("auto_offset_reset", "earliest"),
            "isolation.level": "read_committed",
            "socket.connection.setup.timeout.ms": max(1000, int(self.connect_timeout * 1000)),
            "client.id": "etl-kafka-connector",
            "logger": logger,
            "error_cb": self._on_error,
        }
        from sources.fileroots import resolve_allowed_path

        for key, prop in _PASSTHROUGH.items():
            if self.config.get(key):
                settings[prop] = self.config[key]
        for key, value in self.server_paths(self.config).items():  # judged again where librdkafka opens them
            settings[_PASSTHROUGH[key]] = str(resolve_allowed_path(value, key=key))
        if str(self.config.get("security_protocol", "")).startswith("SASL_"):
            settings.setdefault("sasl.mechanism", "PLAIN")
        return settings

    def _on_error(self, error) -> None:
        # librdkafka says why a broker cannot be reached here ("Connection refused"), not in the exception that
        # follows; "all brokers are down" only replaces nothing.
        from confluent_kafka import KafkaError

        if self._last_error is None or error.code() != KafkaError._ALL_BROKERS_DOWN:
            self._last_error = error.str()

    def _consumer(self):
        from confluent_kafka import Consumer, KafkaException

        try:
            return Consumer(self._client_config())
        except (KafkaException, ValueError, TypeError) as error:
            raise ConnectorError(_("The Kafka client refused its configuration: %(reason)s") % {"reason": error},
                                 permanent=True) from None

    def _kafka_error(self, error: Exception, doing: str) -> ConnectorError:
        from confluent_kafka import KafkaError, KafkaException

        kafka_error = error.args[0] if isinstance(error, KafkaException) and error.args else None
        code = kafka_error.code() if isinstance(kafka_error, KafkaError) else None
        servers = ",".join(_servers(self.config["bootstrap_servers"]))
        if code in (KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN,
                    KafkaError._RESOLVE):
            return ConnectorError(_("Kafka at %(servers)s cannot be reached while %(doing)s: %(reason)s")
                                  % {"servers": servers, "doing": doing,
                                     "reason": self._last_error or kafka_error.str()}, permanent=False)
        if code in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED,
                    KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
                    KafkaError.CLUSTER_AUTHORIZATION_FAILED):
            return ConnectorError(_("Kafka refused access while %(doing)s: %(reason)s")
                                  % {"doing": doing, "reason": kafka_error.str()}, permanent=True)
        reason = kafka_error.str() if isinstance(kafka_error, KafkaError) else str(error)
        fatal = isinstance(kafka_error, KafkaError) and kafka_error.fatal()
        return ConnectorError(_("Kafka failed while %(doing)s: %(reason)s") % {"doing": doing, "reason": reason},
                              permanent=bool(fatal))

    def _partitions(self, consumer) -> list[int]:
        from confluent_kafka import KafkaError, KafkaException

        try:
            metadata = consumer.list_topics(self.topic, timeout=self.connect_timeout)
        except KafkaException as error:
            consumer.poll(0)  # serves error_cb, which holds the cause ("Connection refused", "Failed to resolve")
            raise self._kafka_error(error, _("reading the topic's metadata")) from None
        topic = metadata.topics.get(self.topic)
        if topic is None or (topic.error is not None and topic.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
            raise ConnectorError(_("The topic %(topic)s does not exist.") % {"topic": self.topic}, permanent=True)
        if topic.error is not None:
            raise self._kafka_error(KafkaException(topic.error), _("reading the topic's metadata"))
        return sorted(topic.partitions)

    def _positions(self, consumer, partitions: list[int]) -> dict[int, tuple[int, int]]:
        """partition -> (where this run starts, the end it stops at), as the broker says now."""
        from confluent_kafka import KafkaException, TopicPartition

        latest = self.config.get("auto_offset_reset", "earliest") == "latest"
        try:
            committed = consumer.committed([TopicPartition(self.topic, p) for p in partitions],
                                           timeout=self.connect_timeout)
            positions = {}
            for tp in committed:
                low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, tp.partition),
                                                           timeout=self.connect_timeout)
                if tp.offset >= 0:
                    start = min(max(tp.offset, low), high)
                else:
                    start = high if latest else low
                positions[tp.partition] = (start, high)
        except KafkaException as error:
            raise self._kafka_error(error, _("reading the group's committed offsets")) from None
        return positions

    # -- reading ---------------------------------------------------------------------------------------------

    def read_batches(self, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
            raise ValueError(f"batch_rows must be a positive integer, not {batch_rows!r}")
        self._read, self._delivered, self._committed = {}, {}, {}
        with tempfile.TemporaryFile(prefix="etl-kafka-") as spool:
            count = self._spool(spool)
            spool.seek(0)
            yield from self._batches(spool, count, batch_rows)

    def _spool(self, spool: BinaryIO) -> int:
        """Reads the messages into `spool`, gathering the columns; returns how many were read."""
        from confluent_kafka import KafkaError, KafkaException, TopicPartition

        started = time.monotonic()
        consumer = self._consumer()
        keys: dict[str, None] = {}
        width = 0
        count = tombstones = 0
        try:
            partitions = self._partitions(consumer)
            positions = self._positions(consumer, partitions)
            pending = {p for p, (start, end) in positions.items() if start < end}
            self._stats = {"partitions": len(partitions), "start_offsets": {p: s for p, (s, _e) in positions.items()},
                           "end_offsets": {p: e for p, (_s, e) in positions.items()}}
            if pending:
                consumer.assign([TopicPartition(self.topic, p, positions[p][0]) for p in sorted(pending)])
            last_message = time.monotonic()
            while pending and count < self.max_messages:
                try:
                    messages = consumer.consume(num_messages=min(_CONSUME_CHUNK, self.max_messages - count),
                                                timeout=_CONSUME_WAIT)
                except KafkaException as error:
                    raise self._kafka_error(error, _("reading messages")) from None
                for message in messages:
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            pending.discard(message.partition())
                        elif error.fatal() or not error.retriable():
                            raise self._kafka_error(KafkaException(error), _("reading messages"))
                        continue
                    partition, offset = message.partition(), message.offset()
                    end = positions[partition][1]
                    if offset >= end:  # arrived after the run started: the next run reads it
                        pending.discard(partition)
                        continue
                    record = _Message(partition, offset, message.timestamp()[1], message.key(), message.value())
                    if record.value is None:
                        tombstones += 1
                    else:
                        found = self._columns_of(record)
                        if isinstance(found, int):
                            width = max(width, found)
                        else:
                            keys.update(dict.fromkeys(found))
                    _write(spool, record)
                    count += 1
                    self._read[partition] = offset + 1
                    if offset + 1 >= end:
                        pending.discard(partition)
                if messages:
                    last_message = time.monotonic()
                elif time.monotonic() - last_message >= self.poll_timeout:
                    break
        finally:
            consumer.close()
        self._columns = self._column_names(keys, width)
        self._stats.update(messages=count, tombstones=tombstones, seconds=round(time.monotonic() - started, 3))
        return count

    def _text(self, record: _Message) -> str:
        try:
            return record.value.decode(self.encoding)
        except UnicodeDecodeError:
            raise ConnectorError(_("The message at %(where)s cannot be decoded as %(encoding)s; set encoding.")
                                 % {"where": record.where, "encoding": self.encoding}, permanent=True) from None

    def _json(self, record: _Message) -> dict:
        try:
            value = json.loads(self._text(record), parse_float=decimal.Decimal)
        except json.JSONDecodeError as error:
            raise ConnectorError(_("The message at %(where)s is not valid JSON (%(reason)s).")
                                 % {"where": record.where, "reason": error.msg}, permanent=True) from None
        if not isinstance(value, dict):
            raise ConnectorError(_("The message at %(where)s is not a JSON object ({...}); with value_format json "
                                   "each message must be one.") % {"where": record.where}, permanent=True)
        return value

    def _csv(self, record: _Message) -> list[list[str]]:
        delimiter = self.config.get("delimiter") or ","
        try:
            rows = [row for row in csv.reader(io.StringIO(self._text(record)), delimiter=delimiter) if row]
        except csv.Error as error:
            raise ConnectorError(_("The message at %(where)s is not valid CSV (%(reason)s).")
                                 % {"where": record.where, "reason": error}, permanent=True) from None
        columns = self.config.get("columns")
        if columns and any(len(row) > len(columns) for row in rows):
            raise ConnectorError(_("The message at %(where)s has more fields than columns lists (%(count)d).")
                                 % {"where": record.where, "count": len(columns)}, permanent=True)
        return rows

    def _columns_of(self, record: _Message) -> list[str] | int:
        """The JSON keys of a message, or the width of its widest CSV record (checks the message on the way)."""
        if self.value_format == "json":
            return list(self._json(record))
        if self.value_format == "csv":
            return max((len(row) for row in self._csv(record)), default=0)
        self._text(record)
        return 0

    def _column_names(self, keys: dict[str, None], width: int) -> list[str]:
        if self.value_format == "json":
            names = list(keys)
        elif self.value_format == "csv":
            names = list(self.config.get("columns") or [f"column_{i}" for i in range(1, width + 1)])
        else:
            names = ["value"]
        return names + list(METADATA_COLUMNS) if self.include_metadata else names

    def _rows(self, record: _Message) -> list[list[Any]]:
        if self.value_format == "json":
            value = self._json(record)
            position = self._position
            row: list[Any] = [None] * len(position)
            for key, item in value.items():
                row[position[key]] = to_text(item)
            rows = [row]
        elif self.value_format == "csv":
            width = len(self._columns) - (len(METADATA_COLUMNS) if self.include_metadata else 0)
            rows = [[field if field != "" else None for field in row] + [None] * (width - len(row))
                    for row in self._csv(record)]
        else:
            rows = [[self._text(record)]]
        if self.include_metadata:
            stamp = (datetime.datetime.fromtimestamp(record.timestamp / 1000, tz=datetime.timezone.utc)
                     .isoformat(sep=" ") if record.timestamp > 0 else None)
            key = record.key.decode(self.encoding, errors="replace") if record.key is not None else None
            extra = [str(record.partition), str(record.offset), stamp, key]
            rows = [row + extra for row in rows]
        return rows

    def _batches(self, spool: BinaryIO, count: int, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Batches cut at message boundaries (a message with more CSV records than batch_rows is split)."""
        schema = string_schema(self._columns)
        self._position = {name: index for index, name in enumerate(self._columns)}
        rows: list[list[Any]] = []
        done: dict[int, int] = {}  # next offsets of the messages whose rows are all in `rows` or yielded
        for _index in range(count):
            record = _read(spool)
            message_rows = self._rows(record) if record.value is not None else []
            if rows and len(rows) + len(message_rows) > batch_rows:
                yield self._hand_out(schema, rows, done)
                rows = []
            while len(message_rows) > batch_rows:
                yield self._hand_out(schema, message_rows[:batch_rows], {})
                message_rows = message_rows[batch_rows:]
            rows.extend(message_rows)
            done[record.partition] = record.offset + 1
        if rows:
            yield self._hand_out(schema, rows, done)
        # Every message read was handed out (tombstones and messages without records included).
        self._delivered = dict(self._read)

    def _hand_out(self, schema: pa.Schema, rows: list[list[Any]], done: dict[int, int]) -> pa.RecordBatch:
        batch = rows_to_batch(schema, rows)
        self._delivered.update(done)
        return batch

    # -- after the load --------------------------------------------------------------------------------------

    def commit(self) -> dict[int, int]:
        """Commit the offsets of the messages handed out in batches; call it only once the load has committed.

        Returns partition -> committed offset (the next message to read). Raises ConnectorError (transient) when
        the broker refuses: the run's rows are then in the target, and the next run reads those messages again.
        """
        from confluent_kafka import KafkaException, TopicPartition

        pending = {p: o for p, o in self._delivered.items() if self._committed.get(p) != o}
        if not pending:
            return dict(self._committed)
        consumer = self._consumer()
        try:
            results = consumer.commit(offsets=[TopicPartition(self.topic, p, o) for p, o in sorted(pending.items())],
                                      asynchronous=False)
        except KafkaException as error:
            raise self._kafka_error(error, _("committing offsets")) from None
        finally:
            consumer.close()
        for result in results or ():
            if result.error is not None:
                raise self._kafka_error(KafkaException(result.error), _("committing offsets"))
        self._committed.update(pending)
        return dict(self._committed)

    # -- the contract's other two ----------------------------------------------------------------------------

    def test_connection(self) -> ConnectionCheck:
        try:
            consumer = self._consumer()
        except ConnectorError as error:
            return ConnectionCheck(ok=False, message=error.message, details={"permanent": error.permanent})
        try:
            partitions = self._partitions(consumer)
            positions = self._positions(consumer, partitions)
        except ConnectorError as error:
            return ConnectionCheck(ok=False, message=error.message, details={"permanent": error.permanent})
        finally:
            consumer.close()
        waiting = sum(end - start for start, end in positions.values())
        values = {"topic": self.topic, "partitions": len(partitions), "waiting": waiting, "group": self.group_id}
        message = (ngettext("Topic %(topic)s has %(partitions)d partition.",
                            "Topic %(topic)s has %(partitions)d partitions.", len(partitions)) % values
                   + " " + ngettext("About %(waiting)d message is waiting for group %(group)s.",
                                    "About %(waiting)d messages are waiting for group %(group)s.", waiting) % values)
        return ConnectionCheck(ok=True, message=message, details={
            "topic": self.topic, "group_id": self.group_id, "partitions": len(partitions),
            "messages_waiting": waiting})

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "bootstrap_servers": ",".join(_servers(self.config["bootstrap_servers"])),
                "topic": self.topic, "group_id": self.group_id, "value_format": self.value_format,
                "columns": list(self._columns), **self._stats,
                "read_offsets": dict(self._read), "committed_offsets": dict(self._committed)}


def _write(spool: BinaryIO, record: _Message) -> None:
    key, value = record.key, record.value
    spool.write(_HEADER.pack(record.partition, record.offset, record.timestamp,
                             -1 if key is None else len(key), -1 if value is None else len(value)))
    if key:
        spool.write(key)
    if value:
        spool.write(value)


def _read(spool: BinaryIO) -> _Message:
    partition, offset, timestamp, key_size, value_size = _HEADER.unpack(spool.read(_HEADER.size))
    key = spool.read(key_size) if key_size > 0 else (b"" if key_size == 0 else None)
    value = spool.read(value_size) if value_size > 0 else (b"" if value_size == 0 else None)
    return _Message(partition, offset, timestamp, key, value)
