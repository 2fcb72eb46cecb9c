"""The Kafka connector itself: the client, a bounded read spooled to a file, batches, and commit() after the load."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

import pyarrow as pa
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from etlsite.messages import _msg
from sources.connectors.base import DEFAULT_BATCH_ROWS, ConnectionCheck, Connector, ConnectorError
from sources.connectors.filesupport.batching import rows_to_batch, string_schema
from sources.connectors.kafka.config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_MESSAGES,
    DEFAULT_POLL_TIMEOUT,
    FILE_KEYS,
    NOT_A_PATH,
    PASSTHROUGH,
    config_problems,
    server_list,
)
from sources.connectors.kafka.messages import Message, MessageFormat, spool_read, spool_write

logger = logging.getLogger(__name__)

_CONSUME_CHUNK = 1000
_CONSUME_WAIT = 0.2  # seconds one consume() call waits; the idle limit is checked between calls


class KafkaConnector(Connector):
    kind = "kafka"
    KEYS = ("bootstrap_servers", "topic", "group_id", "value_format", "max_messages", "poll_timeout_seconds",
            "auto_offset_reset", "include_metadata", "encoding", "delimiter", "columns", *PASSTHROUGH,
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
        self.format = MessageFormat(config)

    @classmethod
    def config_errors(cls, config: Any) -> list[str]:
        errors = super().config_errors(config)
        if errors:
            return errors
        errors += cls.unknown_key_errors(config, cls.KEYS, "Kafka")
        errors += config_problems(config)
        return errors

    @classmethod
    def server_paths(cls, config: Any) -> dict[str, str]:
        if not isinstance(config, dict):
            return {}
        return {key: config[key] for key in FILE_KEYS
                if isinstance(config.get(key), str) and config[key].strip() and config[key] != NOT_A_PATH.get(key)}

    # -- the client ------------------------------------------------------------------------------------------

    def _client_config(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "bootstrap.servers": ",".join(server_list(self.config["bootstrap_servers"])),
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

        for key, prop in PASSTHROUGH.items():
            if self.config.get(key):
                settings[prop] = self.config[key]
        for key, value in self.server_paths(self.config).items():  # judged again where librdkafka opens them
            settings[PASSTHROUGH[key]] = str(resolve_allowed_path(value, key=key))
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
            raise ConnectorError(_msg("The Kafka client refused its configuration: %(reason)s") % {"reason": error},
                                 permanent=True) from None

    def _kafka_error(self, error: Exception, doing: str) -> ConnectorError:
        from confluent_kafka import KafkaError, KafkaException

        kafka_error = error.args[0] if isinstance(error, KafkaException) and error.args else None
        code = kafka_error.code() if isinstance(kafka_error, KafkaError) else None
        servers = ",".join(server_list(self.config["bootstrap_servers"]))
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
            raise ConnectorError(_msg("The topic %(topic)s does not exist.") % {"topic": self.topic}, permanent=True)
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
                    record = Message(partition, offset, message.timestamp()[1], message.key(), message.value())
                    if record.value is None:
                        tombstones += 1
                    else:
                        found = self.format.columns_of(record)
                        if isinstance(found, int):
                            width = max(width, found)
                        else:
                            keys.update(dict.fromkeys(found))
                    spool_write(spool, record)
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
        self._columns = self.format.column_names(keys, width)
        self._stats.update(messages=count, tombstones=tombstones, seconds=round(time.monotonic() - started, 3))
        return count

    def _batches(self, spool: BinaryIO, count: int, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Batches cut at message boundaries (a message with more CSV records than batch_rows is split)."""
        schema = string_schema(self._columns)
        self._position = {name: index for index, name in enumerate(self._columns)}
        rows: list[list[Any]] = []
        done: dict[int, int] = {}  # next offsets of the messages whose rows are all in `rows` or yielded
        for _index in range(count):
            record = spool_read(spool)
            message_rows = self.format.rows(record, self._position, self._columns) if record.value is not None else []
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
        return {"kind": self.kind, "bootstrap_servers": ",".join(server_list(self.config["bootstrap_servers"])),
                "topic": self.topic, "group_id": self.group_id, "value_format": self.value_format,
                "columns": list(self._columns), **self._stats,
                "read_offsets": dict(self._read), "committed_offsets": dict(self._committed)}
