"""KafkaConnector against librdkafka's built-in mock cluster, over the real Kafka protocol.

No Kafka broker can run on these machines. confluent-kafka's bundled librdkafka starts an in-process mock
cluster when a client is configured with `test.mock.num.brokers`; the producer below owns it for the session and
the connector connects to its bootstrap address like to any broker (metadata, fetch, ListOffsets, OffsetFetch,
OffsetCommit). What the mock does not show: SASL/SSL, consumer-group rebalancing against other members,
retention, and transactions.
"""

from __future__ import annotations

import json
import time
import uuid

import pyarrow as pa
import pytest
from confluent_kafka import Producer

from sources.connectors.base import ConnectorError
from sources.connectors.kafka import KafkaConnector


@pytest.fixture(scope="module")
def cluster():
    """(bootstrap servers, producer) of a one-broker mock cluster that lives as long as the producer."""
    producer = Producer({"test.mock.num.brokers": 1, "log_level": 2})
    brokers = producer.list_topics(timeout=10).brokers.values()
    yield ",".join(f"{broker.host}:{broker.port}" for broker in brokers), producer
    producer.flush(5)


@pytest.fixture
def topic():
    return f"orders-{uuid.uuid4().hex[:8]}"


def produce(cluster, topic, values, *, partition=0, key=None):
    _servers, producer = cluster
    for value in values:
        payload = value if isinstance(value, bytes) or value is None else (
            value.encode() if isinstance(value, str) else json.dumps(value).encode())
        producer.produce(topic, payload, key=key, partition=partition)
    assert producer.flush(10) == 0


def config(cluster, topic, **extra):
    return {"bootstrap_servers": cluster[0], "topic": topic, "group_id": f"etl-{topic}",
            "poll_timeout_seconds": 2, **extra}


def rows(connector, batch_rows=65_536):
    batches = list(connector.read_batches(batch_rows=batch_rows))
    return pa.Table.from_batches(batches).to_pylist() if batches else []


def test_json_messages_become_text_columns_in_first_seen_key_order(cluster, topic):
    produce(cluster, topic, [
        {"id": 1, "amount": 10.50, "city": "Moscow"},
        {"id": 2, "amount": None, "tags": ["a", "b"], "ok": True},
        '{"id": 3, "amount": 1.10, "nested": {"k": 1}}',
    ])
    connector = KafkaConnector(config(cluster, topic))
    batches = list(connector.read_batches())
    assert len(batches) == 1
    assert batches[0].schema == pa.schema([(name, pa.string()) for name in
                                           ("id", "amount", "city", "tags", "ok", "nested")])
    assert batches[0].to_pylist() == [
        {"id": "1", "amount": "10.5", "city": "Moscow", "tags": None, "ok": None, "nested": None},
        {"id": "2", "amount": None, "city": None, "tags": '["a","b"]', "ok": "true", "nested": None},
        {"id": "3", "amount": "1.10", "city": None, "tags": None, "ok": None, "nested": '{"k":1}'},
    ]
    description = connector.describe()
    assert description["messages"] == 3 and description["read_offsets"] == {0: 3}
    assert description["committed_offsets"] == {}


def test_offsets_are_committed_only_by_commit_so_a_failed_run_reads_the_messages_again(cluster, topic):
    produce(cluster, topic, [{"n": i} for i in range(5)])
    settings = config(cluster, topic)

    failed = KafkaConnector(settings)  # the run reads, then its load fails: the engine never calls commit()
    assert [row["n"] for row in rows(failed)] == ["0", "1", "2", "3", "4"]

    retried = KafkaConnector(settings)
    assert [row["n"] for row in rows(retried)] == ["0", "1", "2", "3", "4"]
    assert retried.commit() == {0: 5}  # the load committed: now the offsets are

    assert rows(KafkaConnector(settings)) == []  # nothing new
    produce(cluster, topic, [{"n": 5}, {"n": 6}])
    later = KafkaConnector(settings)
    assert [row["n"] for row in rows(later)] == ["5", "6"]
    assert later.commit() == {0: 7}
    assert later.commit() == {0: 7}  # committing twice changes nothing
    assert KafkaConnector(settings).test_connection().details["messages_waiting"] == 0


def test_commit_covers_only_the_batches_handed_out(cluster, topic):
    produce(cluster, topic, [{"n": i} for i in range(10)])
    settings = config(cluster, topic)
    connector = KafkaConnector(settings)
    batches = connector.read_batches(batch_rows=4)
    first = next(batches)
    assert first.num_rows == 4
    batches.close()  # the engine stopped after one batch
    assert connector.commit() == {0: 4}
    assert [row["n"] for row in rows(KafkaConnector(settings))] == [str(i) for i in range(4, 10)]


def test_max_messages_bounds_a_run_and_the_next_run_goes_on(cluster, topic):
    produce(cluster, topic, [{"n": i} for i in range(7)])
    settings = config(cluster, topic, max_messages=3)
    seen = []
    for _run in range(3):
        connector = KafkaConnector(settings)
        got = [row["n"] for row in rows(connector)]
        assert len(got) <= 3
        seen += got
        connector.commit()
    assert seen == [str(i) for i in range(7)]


def test_all_partitions_are_read_and_committed_to_their_ends(cluster, topic):
    for partition in range(4):
        produce(cluster, topic, [{"p": partition, "i": i} for i in range(partition + 1)], partition=partition)
    connector = KafkaConnector(config(cluster, topic))
    got = rows(connector, batch_rows=3)
    assert sorted((row["p"], row["i"]) for row in got) == sorted(
        (str(p), str(i)) for p in range(4) for i in range(p + 1))
    assert connector.commit() == {0: 1, 1: 2, 2: 3, 3: 4}


def test_the_read_stops_at_the_ends_without_waiting_for_the_idle_timeout(cluster, topic):
    produce(cluster, topic, [{"n": 1}])
    started = time.monotonic()
    assert len(rows(KafkaConnector(config(cluster, topic, poll_timeout_seconds=30)))) == 1
    assert time.monotonic() - started < 10


def test_csv_and_text_values_and_message_metadata(cluster, topic):
    produce(cluster, topic, ["1,Moscow,10.5", "2,,7\n3,Kazan,1", "4,Omsk"], key=b"k1")
    named = KafkaConnector(config(cluster, topic, value_format="csv", columns=["id", "city", "amount"]))
    assert rows(named) == [
        {"id": "1", "city": "Moscow", "amount": "10.5"}, {"id": "2", "city": None, "amount": "7"},
        {"id": "3", "city": "Kazan", "amount": "1"}, {"id": "4", "city": "Omsk", "amount": None}]
    numbered = KafkaConnector(config(cluster, topic, value_format="csv", delimiter=","))
    assert rows(numbered)[0] == {"column_1": "1", "column_2": "Moscow", "column_3": "10.5"}

    text = KafkaConnector(config(cluster, topic, value_format="text", include_metadata=True))
    got = rows(text)
    assert [row["value"] for row in got] == ["1,Moscow,10.5", "2,,7\n3,Kazan,1", "4,Omsk"]
    assert list(got[0]) == ["value", "_kafka_partition", "_kafka_offset", "_kafka_timestamp", "_kafka_key"]
    assert [(row["_kafka_partition"], row["_kafka_offset"], row["_kafka_key"]) for row in got] == [
        ("0", "0", "k1"), ("0", "1", "k1"), ("0", "2", "k1")]
    assert got[0]["_kafka_timestamp"].startswith("20")


def test_tombstones_are_skipped_but_their_offsets_are_committed(cluster, topic):
    produce(cluster, topic, [{"n": 1}, None, {"n": 2}, None])
    connector = KafkaConnector(config(cluster, topic))
    assert rows(connector) == [{"n": "1"}, {"n": "2"}]
    assert connector.describe()["tombstones"] == 2
    assert connector.commit() == {0: 4}


@pytest.mark.parametrize("value, reason", [
    (b'{"id": 1,', "is not valid JSON (Expecting property name enclosed in double quotes)."),
    (b"[1, 2]", "is not a JSON object ({...}); with value_format json each message must be one."),
    (b"\xff\xfe{}", "cannot be decoded as utf-8; set encoding."),
])
def test_a_bad_message_stops_the_run_naming_where_it_is(cluster, topic, value, reason):
    produce(cluster, topic, [{"n": 1}, value])
    connector = KafkaConnector(config(cluster, topic))
    with pytest.raises(ConnectorError) as caught:
        rows(connector)
    assert caught.value.message == f"The message at partition 0, offset 1 {reason}"
    assert caught.value.permanent
    assert connector.commit() == {}  # nothing was handed out, nothing is committed


def test_test_connection_reports_the_topic_and_what_waits(cluster, topic):
    produce(cluster, topic, [{"n": i} for i in range(3)], partition=1)
    check = KafkaConnector(config(cluster, topic)).test_connection()
    assert check.ok
    assert check.message == f"Topic {topic} has 4 partitions. About 3 messages are waiting for group etl-{topic}."
    assert check.details["messages_waiting"] == 3


def test_a_missing_topic_is_reported(cluster):
    check = KafkaConnector(config(cluster, "no-such-topic")).test_connection()
    assert not check.ok and check.message == "The topic no-such-topic does not exist."
    with pytest.raises(ConnectorError):
        rows(KafkaConnector(config(cluster, "no-such-topic")))


def test_an_unreachable_bootstrap_server_fails_quickly_with_the_cause():
    connector = KafkaConnector({"bootstrap_servers": "127.0.0.1:9", "topic": "t", "group_id": "g",
                                "connect_timeout_seconds": 1})
    started = time.monotonic()
    check = connector.test_connection()
    assert time.monotonic() - started < 5
    assert not check.ok and check.details["permanent"] is False
    assert check.message.startswith("Kafka at 127.0.0.1:9 cannot be reached while reading the topic's metadata: ")
    assert "Connection refused" in check.message


@pytest.mark.parametrize("bad, message", [
    ({}, "bootstrap_servers is required, e.g. \"broker1:9092,broker2:9092\"."),
    ({"bootstrap_servers": "broker"}, "bootstrap_servers must list host:port addresses, e.g. "
                                      "\"broker1:9092,broker2:9092\"."),
    ({"topic": " "}, "topic is required."),
    ({}, "group_id is required."),
    ({"value_format": "avro"}, "value_format must be one of: json, csv, text."),
    ({"max_messages": 0}, "max_messages must be a positive whole number."),
    ({"poll_timeout_seconds": "5"}, "poll_timeout_seconds must be a positive number of seconds."),
    ({"auto_offset_reset": "smallest"}, "auto_offset_reset must be earliest or latest."),
    ({"delimiter": ";"}, "delimiter and columns apply to value_format csv only."),
    ({"value_format": "csv", "columns": ["a", "a"]}, "columns must be a list of distinct column names."),
    ({"security_protocol": "TLS"}, "security_protocol must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL."),
    ({"security_protocol": "SASL_SSL", "sasl_username": "u"},
     "sasl_password is required with security_protocol SASL_SSL."),
    ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "sasl_username": "u", "sasl_password": "p"},
     "sasl_mechanism must be one of: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512."),
    ({"encoding": "nope"}, "encoding 'nope' is not known."),
    ({"offsets": "x"}, "Unknown key(s) offsets; the Kafka connector knows: bootstrap_servers, topic, group_id, "
                       "value_format, max_messages, poll_timeout_seconds, auto_offset_reset, include_metadata, "
                       "encoding, delimiter, columns, security_protocol, sasl_mechanism, sasl_username, "
                       "sasl_password, ssl_ca_location, ssl_certificate_location, ssl_key_location, "
                       "ssl_key_password, connect_timeout_seconds."),
])
def test_config_errors_name_the_key(bad, message):
    assert message in KafkaConnector.config_errors(bad)


def test_a_complete_config_is_accepted_and_reaches_the_client_settings():
    good = {"bootstrap_servers": ["b1:9092", "b2:9093"], "topic": "t", "group_id": "g", "value_format": "csv",
            "delimiter": ";", "columns": ["a", "b"], "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "etl", "sasl_password": "s3cret",
            "ssl_ca_location": "/data/ssl/ca.pem"}
    assert KafkaConnector.config_errors(good) == []
    settings = KafkaConnector(good)._client_config()
    assert settings["bootstrap.servers"] == "b1:9092,b2:9093"
    assert settings["enable.auto.commit"] is False and settings["group.id"] == "g"
    assert settings["sasl.mechanism"] == "SCRAM-SHA-512" and settings["security.protocol"] == "SASL_SSL"
    assert settings["sasl.username"] == "etl" and settings["ssl.ca.location"] == "/data/ssl/ca.pem"
    assert "s3cret" not in json.dumps(KafkaConnector(good).describe())
