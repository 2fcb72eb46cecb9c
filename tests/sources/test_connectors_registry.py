"""The connector registry and base contract (STYLE.md item 15)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sources.connectors import CONNECTORS, ConnectorError, connector_config_errors, get_connector
from sources.connectors.base import ConnectionCheck, Connector
from sources.connectors.file import FileConnector
from sources.models import SourceType

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "files"


def test_registry_holds_dotted_paths_of_known_source_types():
    assert CONNECTORS["file"] == "sources.connectors.file.FileConnector"
    assert set(CONNECTORS) <= set(SourceType.values)
    assert all(path.startswith("sources.connectors.") and path.count(".") == 3 for path in CONNECTORS.values())


def test_connector_modules_are_imported_on_first_use_only():
    code = ("import sys, sources.connectors as c; "
            "print('sources.connectors.file' in sys.modules, 'openpyxl' in sys.modules, 'charset_normalizer' "
            "in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert output.stdout.split() == ["False", "False", "False"]
    # format readers too: reading CSV never imports openpyxl
    code = ("import sys; from sources.connectors.file import FileConnector; "
            f"list(FileConnector({{'file_path': {str(SAMPLES / 'quoted.csv')!r}}}).read_batches()); "
            "print('openpyxl' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert output.stdout.split() == ["False"]


def test_get_connector_returns_a_connector_of_the_kind():
    connector = get_connector("file", {"file_path": str(SAMPLES / "quoted.csv")})
    assert isinstance(connector, FileConnector) and isinstance(connector, Connector)
    assert connector.kind == "file"


@pytest.mark.parametrize("source_type", ["nope", "", None, ["file"]])
def test_unknown_or_unavailable_kinds_are_permanent_errors(source_type):
    with pytest.raises(ConnectorError) as caught:
        get_connector(source_type, {})
    assert caught.value.permanent is True
    assert f"No connector is available for source type '{source_type}'" in str(caught.value)
    assert f"(available: {', '.join(sorted(CONNECTORS))})" in caught.value.message
    assert connector_config_errors(source_type, {}) == [caught.value.message]


def test_invalid_config_is_a_permanent_error_listing_every_problem():
    with pytest.raises(ConnectorError) as caught:
        get_connector("file", {"file_path": " ", "delimiter": ";;", "encoding": "xyz"})
    assert caught.value.permanent is True
    message = caught.value.message
    assert "file_path is empty" in message
    assert "delimiter must be a single character" in message
    assert "encoding 'xyz' is not known" in message
    assert message.count("; ") >= 2
    with pytest.raises(ConnectorError, match="file_path is empty"):
        FileConnector({"file_path": ""})  # constructing directly checks too


@pytest.mark.parametrize(("config", "expected"), [
    ([], "The connection configuration must be a JSON object."),
    ({"file_path": "  "}, "file_path is empty: give a path or a glob pattern, or leave file_path out"),
    ({"file_path": 5}, "file_path must be a text: a path or a glob pattern."),
    ({"file_path": "/data/a.csv", "delimeter": ";"}, "Unknown key(s) delimeter; the file connector knows: file_path, "),
    ({"file_path": "/data/a.csv", "format": "xml"}, "format 'xml' is not supported; use one of: csv, tsv, json, jsonl, "
                                              "parquet, xlsx."),
    ({"file_path": "/data/a.csv", "encoding": "xyz"}, "encoding 'xyz' is not known."),
    ({"file_path": "/data/a.csv", "encoding": "base64"}, "encoding 'base64' is not known."),
    ({"file_path": "/data/a.csv", "delimiter": ";;"}, "delimiter must be a single character"),
    ({"file_path": "/data/a.csv", "delimiter": "\n"}, "delimiter must be a single character"),
    ({"file_path": "/data/a.csv", "quote_char": "''"}, "quote_char must be a single character."),
    ({"file_path": "/data/a.csv", "escape_char": 1}, "escape_char must be a single character."),
    ({"file_path": "/data/a.csv", "delimiter": "'", "quote_char": "'"}, "delimiter and quote_char must differ."),
    ({"file_path": "/data/a.csv", "has_header": "no"}, "has_header must be true or false."),
    ({"file_path": "/data/a.json", "record_path": []}, "record_path must be a key, a dotted path"),
    ({"file_path": "/data/a.json", "record_path": ["data", 1]}, "record_path must be a key, a dotted path"),
    ({"file_path": "/data/a.xlsx", "sheet": ""}, "sheet must be the name of a sheet."),
    ({"file_path": "/data/a.csv", "max_bytes": 0}, "max_bytes must be a positive whole number of bytes."),
    ({"file_path": "/data/a.csv", "max_bytes": True}, "max_bytes must be a positive whole number of bytes."),
])
def test_config_errors_name_the_key(config, expected):
    errors = connector_config_errors("file", config)
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_the_specifications_example_and_full_configs_are_valid():
    assert connector_config_errors("file", {"file_path": "/data/sales_2024.csv", "delimiter": ",",
                                            "encoding": "utf-8"}) == []
    assert connector_config_errors("file", {
        "file_path": "/data/*.json.gz", "format": "ndjson", "encoding": "cp1251", "delimiter": "tab",
        "quote_char": "'", "escape_char": "\\", "has_header": False, "record_path": "data.items",
        "sheet": "Sales", "max_bytes": 1024}) == []


def test_connector_error_says_whether_it_is_permanent():
    error = ConnectorError("the file is empty", permanent=True)
    assert error.permanent is True and error.message == str(error) == "the file is empty"
    assert ConnectorError("not there yet", permanent=False).permanent is False
    assert ConnectionCheck(ok=True, message="fine").details == {}
