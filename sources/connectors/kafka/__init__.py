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

The package: config (connection_config and its problems), messages (the spool and the values as rows),
connector (KafkaConnector).
"""

from sources.connectors.kafka.config import METADATA_COLUMNS, VALUE_FORMATS
from sources.connectors.kafka.connector import KafkaConnector

__all__ = ["METADATA_COLUMNS", "VALUE_FORMATS", "KafkaConnector"]
