"""S3Connector against moto's S3-compatible server (PyPI `moto[server]`), over real HTTP with real boto3.

The server runs in a thread of the test process on a free port of 127.0.0.1. moto accepts any credentials
unless its IAM checks are switched on (`/moto-api/reset-auth`); the credentials tests switch them on.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import time
import zipfile

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
from moto.server import ThreadedMotoServer

from sources.connectors.base import ConnectorError
from sources.connectors.s3 import S3Connector

BUCKET = "etl-landing"
KEYS = {"access_key_id": "testing", "secret_access_key": "testing", "region": "us-east-1"}


@pytest.fixture(scope="session")
def moto_url():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_url):
    """A boto3 client for uploads, and an empty bucket."""
    client = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)  # every test starts from an empty store
    client.create_bucket(Bucket=BUCKET)
    return client


def config(moto_url, **extra):
    return {"bucket": BUCKET, "endpoint_url": moto_url, **KEYS, **extra}


def csv_bytes(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def read_all(connector, batch_rows=65_536) -> pa.Table:
    batches = list(connector.read_batches(batch_rows=batch_rows))
    return pa.Table.from_batches(batches)


def independent_csv(*payloads: bytes) -> list[dict]:
    """What the objects hold, parsed by the csv module: empty fields are NULL, every value is text."""
    rows = []
    for payload in payloads:
        for record in csv.DictReader(io.StringIO(payload.decode())):
            rows.append({key: (value if value != "" else None) for key, value in record.items()})
    return rows


def test_reads_csv_objects_under_the_prefix_in_key_order_and_nothing_else(s3, moto_url):
    first = csv_bytes(["id", "city", "amount"], [[1, "Moscow", "10.5"], [2, "", "7"]])
    second = csv_bytes(["id", "city", "amount"], [[3, "Kazan", "1e3"], [4, "Omsk", ""]])
    s3.put_object(Bucket=BUCKET, Key="sales/2024/b.csv", Body=second)
    s3.put_object(Bucket=BUCKET, Key="sales/2024/a.csv", Body=first)
    s3.put_object(Bucket=BUCKET, Key="sales/2024/", Body=b"")  # a folder marker
    s3.put_object(Bucket=BUCKET, Key="sales/2024/_SUCCESS", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="sales/2023/old.csv", Body=csv_bytes(["id"], [[99]]))
    s3.put_object(Bucket=BUCKET, Key="other/a.csv", Body=csv_bytes(["x"], [[1]]))

    connector = S3Connector(config(moto_url, prefix="sales/2024/"))
    table = read_all(connector)

    assert table.schema == pa.schema([("id", pa.string()), ("city", pa.string()), ("amount", pa.string())])
    assert table.to_pylist() == independent_csv(first, second)
    description = connector.describe()
    assert [obj["name"] for obj in description["objects"]] == [
        f"s3://{BUCKET}/sales/2024/a.csv", f"s3://{BUCKET}/sales/2024/b.csv"]
    assert description["format"] == "csv" and description["columns"] == ["id", "city", "amount"]
    assert "secret_access_key" not in json.dumps(description) and "testing" not in json.dumps(description)


def test_jsonl_objects_become_text_columns_like_the_file_connector(s3, moto_url):
    records = [{"id": 1, "name": "a", "price": 1.10, "tags": ["x", "y"]},
               {"id": 2, "name": None, "extra": {"k": True}}]
    body = "\n".join(json.dumps(record) for record in records).encode()
    s3.put_object(Bucket=BUCKET, Key="events/day=1/part-0.jsonl", Body=body)

    table = read_all(S3Connector(config(moto_url, prefix="events/")))

    assert table.schema.names == ["id", "name", "price", "tags", "extra"]
    assert all(field.type == pa.string() for field in table.schema)
    assert table.to_pylist() == [
        {"id": "1", "name": "a", "price": "1.1", "tags": '["x","y"]', "extra": None},
        {"id": "2", "name": None, "price": None, "tags": None, "extra": '{"k":true}'},
    ]


def test_parquet_objects_keep_their_types_and_equal_pyarrows_own_read(s3, moto_url, tmp_path):
    expected = pa.table({"id": pa.array(range(1, 1001), pa.int64()),
                         "amount": pa.array([i / 4 for i in range(1000)], pa.float64()),
                         "name": pa.array([f"n{i}" if i % 7 else None for i in range(1000)])})
    path = tmp_path / "part-0.parquet"
    pq.write_table(expected, path, row_group_size=300)
    s3.upload_file(str(path), BUCKET, "warehouse/orders/part-0.parquet")

    table = read_all(S3Connector(config(moto_url, prefix="warehouse/orders/")), batch_rows=256)

    assert table.equals(pq.read_table(path))


def test_batches_are_cut_across_objects_to_batch_rows(s3, moto_url):
    for index in range(3):
        s3.put_object(Bucket=BUCKET, Key=f"p/{index}.csv",
                      Body=csv_bytes(["n"], [[index * 5 + i] for i in range(5)]))
    batches = list(S3Connector(config(moto_url, prefix="p/")).read_batches(batch_rows=4))
    assert [batch.num_rows for batch in batches] == [4, 4, 4, 3]
    assert pa.Table.from_batches(batches).column("n").to_pylist() == [str(i) for i in range(15)]


def test_gzipped_objects_and_the_pattern_and_format_options(s3, moto_url):
    s3.put_object(Bucket=BUCKET, Key="in/a.csv.gz", Body=gzip.compress(csv_bytes(["k"], [["gz"]])))
    s3.put_object(Bucket=BUCKET, Key="in/b.txt", Body=b"k;v\nplain;1\n")
    s3.put_object(Bucket=BUCKET, Key="in/readme.md", Body=b"# not data")

    gz = read_all(S3Connector(config(moto_url, prefix="in/", pattern="*.csv.gz")))
    assert gz.to_pylist() == [{"k": "gz"}]
    text = read_all(S3Connector(config(moto_url, prefix="in/", pattern="in/b.*", format="csv", delimiter=";")))
    assert text.to_pylist() == [{"k": "plain", "v": "1"}]


def test_a_zip_object_is_read_member_by_member(s3, moto_url):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("b.csv", csv_bytes(["k"], [["2"]]))
        zf.writestr("a.csv", csv_bytes(["k"], [["1"]]))
    s3.put_object(Bucket=BUCKET, Key="zips/batch.zip", Body=archive.getvalue())
    connector = S3Connector(config(moto_url, prefix="zips/"))
    assert read_all(connector).to_pylist() == [{"k": "1"}, {"k": "2"}]
    assert [f["name"] for f in connector.describe()["objects"]] == [
        f"s3://{BUCKET}/zips/batch.zip!a.csv", f"s3://{BUCKET}/zips/batch.zip!b.csv"]


def test_objects_with_other_columns_are_refused_naming_both(s3, moto_url):
    s3.put_object(Bucket=BUCKET, Key="mix/a.csv", Body=csv_bytes(["id", "x"], [[1, 2]]))
    s3.put_object(Bucket=BUCKET, Key="mix/b.csv", Body=csv_bytes(["id", "y"], [[1, 2]]))
    with pytest.raises(ConnectorError) as caught:
        read_all(S3Connector(config(moto_url, prefix="mix/")))
    assert f"s3://{BUCKET}/mix/b.csv" in caught.value.message
    assert f"s3://{BUCKET}/mix/a.csv" in caught.value.message
    assert caught.value.permanent


def test_a_parse_error_names_the_object_not_the_temporary_file(s3, moto_url):
    s3.put_object(Bucket=BUCKET, Key="bad/x.jsonl", Body=b'{"a": 1}\n{"a": \n')
    with pytest.raises(ConnectorError) as caught:
        read_all(S3Connector(config(moto_url, prefix="bad/")))
    assert caught.value.message.startswith(f"s3://{BUCKET}/bad/x.jsonl, line 2: invalid JSON")
    assert "/tmp" not in caught.value.message


def test_a_missing_bucket_is_a_specific_permanent_error(s3, moto_url):
    connector = S3Connector(config(moto_url, bucket="no-such-bucket"))
    with pytest.raises(ConnectorError) as caught:
        read_all(connector)
    assert caught.value.message == f"The bucket no-such-bucket does not exist at {moto_url}."
    assert caught.value.permanent
    check = connector.test_connection()
    assert not check.ok and check.message == caught.value.message


def test_an_empty_prefix_is_a_specific_error_that_may_pass_later(s3, moto_url):
    s3.put_object(Bucket=BUCKET, Key="elsewhere/a.csv", Body=csv_bytes(["a"], [[1]]))
    connector = S3Connector(config(moto_url, prefix="incoming/2024-06-01/"))
    with pytest.raises(ConnectorError) as caught:
        read_all(connector)
    assert caught.value.message == f"There is no object under s3://{BUCKET}/incoming/2024-06-01/."
    assert not caught.value.permanent
    patterned = S3Connector(config(moto_url, prefix="elsewhere/", pattern="*.parquet"))
    assert patterned.test_connection().message == (
        f"No object under s3://{BUCKET}/elsewhere/ matches the pattern *.parquet.")


def test_test_connection_counts_the_objects(s3, moto_url):
    for name in ("a.csv", "b.csv"):
        s3.put_object(Bucket=BUCKET, Key=f"d/{name}", Body=csv_bytes(["a"], [[1]]))
    check = S3Connector(config(moto_url, prefix="d/")).test_connection()
    assert check.ok, check.message
    assert check.message == f"2 objects to read under s3://{BUCKET}/d/."
    assert check.details["objects"] == 2 and check.details["first"] == f"s3://{BUCKET}/d/a.csv"


def test_test_connection_reports_a_key_whose_format_cannot_be_told(s3, moto_url):
    s3.put_object(Bucket=BUCKET, Key="raw/export.dat", Body=b"a,b\n1,2\n")
    check = S3Connector(config(moto_url, prefix="raw/")).test_connection()
    assert not check.ok and "set format" in check.message and f"s3://{BUCKET}/raw/export.dat" in check.message
    assert S3Connector(config(moto_url, prefix="raw/", format="csv")).test_connection().ok


@pytest.fixture
def iam_enforced(s3, moto_url):
    """moto with IAM authentication on: a user `etl` with read access; returns its key pair."""
    iam = boto3.client("iam", endpoint_url=moto_url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    iam.create_user(UserName="etl")
    key = iam.create_access_key(UserName="etl")["AccessKey"]
    iam.put_user_policy(UserName="etl", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"}]}))
    s3.put_object(Bucket=BUCKET, Key="secure/a.csv", Body=csv_bytes(["a"], [[1]]))
    requests.post(f"{moto_url}/moto-api/reset-auth", data=b"0", timeout=10)
    try:
        yield key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        requests.post(f"{moto_url}/moto-api/reset-auth", data=b"inf", timeout=10)


def test_with_authentication_on_right_credentials_read_and_wrong_ones_are_refused(iam_enforced, moto_url):
    key_id, secret = iam_enforced
    good = S3Connector(config(moto_url, prefix="secure/", access_key_id=key_id, secret_access_key=secret))
    assert read_all(good).to_pylist() == [{"a": "1"}]

    for wrong_id, wrong_secret in (("AKIAUNKNOWN000000000", secret), (key_id, "not-the-secret")):
        connector = S3Connector(config(moto_url, prefix="secure/", access_key_id=wrong_id,
                                       secret_access_key=wrong_secret))
        check = connector.test_connection()
        assert not check.ok and check.details["permanent"]
        assert check.message.startswith("S3 rejected the credentials (")
        assert "check access_key_id and secret_access_key" in check.message
        assert wrong_secret not in check.message


def test_anonymous_reads_public_objects_and_is_refused_private_ones(s3, moto_url):
    s3.put_object(Bucket=BUCKET, Key="open/a.csv", Body=csv_bytes(["a"], [[1]]), ACL="public-read")
    s3.put_object(Bucket=BUCKET, Key="closed/a.csv", Body=csv_bytes(["a"], [[1]]))
    public = S3Connector({"bucket": BUCKET, "prefix": "open/", "endpoint_url": moto_url, "anonymous": True})
    assert read_all(public).to_pylist() == [{"a": "1"}]
    private = S3Connector({"bucket": BUCKET, "prefix": "closed/", "endpoint_url": moto_url, "anonymous": True})
    with pytest.raises(ConnectorError) as caught:
        read_all(private)
    assert caught.value.message.startswith(f"Access to s3://{BUCKET}/closed/a.csv was denied (")
    assert caught.value.permanent


def test_an_unreachable_endpoint_is_reported_quickly_and_as_transient():
    connector = S3Connector({"bucket": BUCKET, "endpoint_url": "http://127.0.0.1:9", **KEYS})
    started = time.monotonic()
    check = connector.test_connection()
    assert not check.ok and check.details["permanent"] is False
    assert check.message.startswith("S3 cannot be reached at http://127.0.0.1:9: ")
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("bad, message", [
    ({}, "bucket is required."),
    ({"bucket": "s3://b/x"}, "bucket must be a bucket name (without \"s3://\" or \"/\"); put the folder in prefix."),
    ({"bucket": "b", "endpoint_url": "minio:9000"},
     "endpoint_url must be an http:// or https:// address, e.g. \"http://minio.local:9000\"."),
    ({"bucket": "b", "access_key_id": "AKIA"},
     "access_key_id and secret_access_key go together: set both, or neither to use the environment's credentials."),
    ({"bucket": "b", "prefix": 3}, "prefix must be a text."),
    ({"bucket": "b", "format": "xml"},
     "format 'xml' is not supported; use one of: csv, tsv, json, jsonl, parquet, xlsx."),
    ({"bucket": "b", "encoding": "nope"}, "encoding 'nope' is not known."),
    ({"bucket": "b", "anonymous": "yes"}, "anonymous must be true or false."),
])
def test_config_errors_name_the_key(bad, message):
    assert message in S3Connector.config_errors(bad)


def test_unknown_keys_and_a_valid_config():
    errors = S3Connector.config_errors({"bucket": "b", "file_path": "/x", "secret": "s"})
    assert errors == ["Unknown key(s) file_path, secret; the S3 connector knows: bucket, prefix, endpoint_url, "
                      "region, access_key_id, secret_access_key, session_token, anonymous, pattern, format, "
                      "encoding, delimiter, quote_char, escape_char, has_header, record_path, sheet, max_bytes."]
    assert S3Connector.config_errors({"bucket": "b", "prefix": "p/", "format": "csv", "delimiter": ";",
                                      "endpoint_url": "https://s3.example.org", **KEYS}) == []
    with pytest.raises(ConnectorError) as caught:
        S3Connector({"prefix": "p/"})
    assert caught.value.permanent and caught.value.message == "bucket is required."
