"""Cutting one CSV file into parts (sources.connectors.filesupport.splitting) and reading the parts back."""

from __future__ import annotations

import csv
import gzip

import pytest

from pipelines.config import PipelineConfig
from pipelines.config_schema import parallelism_errors
from pipelines.engine.parts import split_obstacle
from sources.connectors.file import FileConnector


def _write(path, rows, header=("id", "name", "amount")):
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _read_all(connector, plan):
    rows = []
    for part in plan.parts:
        for batch in connector.read_part(part, batch_rows=7):
            rows += [tuple(row.values()) for row in batch.to_pylist()]
    return rows


def _rows(n):
    return [(str(i), f"name, \"{i}\"" if i % 3 == 0 else f"n{i}", "" if i % 5 == 0 else f"{i}.5") for i in range(n)]


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_the_parts_hold_every_row_once_in_order_with_their_row_numbers(tmp_path, parts):
    rows = _rows(200)
    path = _write(tmp_path / "a.csv", rows)
    connector = FileConnector({"file_path": str(path)})
    whole = [tuple(row.values()) for batch in connector.read_batches(batch_rows=50) for row in batch.to_pylist()]

    plan = connector.split_plan(parts)

    assert plan.split and len(plan.parts) == parts, plan.reason
    assert _read_all(connector, plan) == whole
    sizes = [sum(b.num_rows for b in connector.read_part(part)) for part in plan.parts]
    assert [part.rows_before for part in plan.parts] == [sum(sizes[:i]) for i in range(parts)]
    assert plan.parts[0].start == 0 and plan.parts[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in zip(plan.parts, plan.parts[1:], strict=False))


def test_a_file_without_a_final_newline_and_without_a_header(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("\n".join(f"{i},x{i}" for i in range(40)), encoding="utf-8")
    connector = FileConnector({"file_path": str(path), "has_header": False})

    plan = connector.split_plan(4)

    assert plan.split
    assert _read_all(connector, plan) == [(str(i), f"x{i}") for i in range(40)]
    firsts = [next(connector.read_part(part)).column(0)[0].as_py() for part in plan.parts]
    assert [part.rows_before for part in plan.parts] == [int(first) for first in firsts]


@pytest.mark.parametrize(("content", "reason"), [
    ('id,text\n1,"two\nlines"\n' + "".join(f"{i},x\n" for i in range(2, 50)), "line break"),
    ("id,text\n1,a\n\n" + "".join(f"{i},x\n" for i in range(2, 50)), "blank lines"),
    ("id,text\n1,a\n", "too few rows"),
])
def test_files_that_cannot_be_cut_exactly_are_read_as_one_part(tmp_path, content, reason):
    path = tmp_path / "c.csv"
    path.write_text(content, encoding="utf-8")

    plan = FileConnector({"file_path": str(path)}).split_plan(3)

    assert not plan.split and reason in plan.reason


def test_compressed_files_and_several_files_are_read_as_one_part(tmp_path):
    text = "id\n" + "".join(f"{i}\n" for i in range(100))
    with gzip.open(tmp_path / "d.csv.gz", "wt") as stream:
        stream.write(text)
    (tmp_path / "e1.csv").write_text(text)
    (tmp_path / "e2.csv").write_text(text)

    assert "compressed" in FileConnector({"file_path": str(tmp_path / "d.csv.gz")}).split_plan(2).reason
    assert "several files" in FileConnector({"file_path": str(tmp_path / "e*.csv")}).split_plan(2).reason


def test_the_parallelism_key_is_validated():
    assert parallelism_errors(None) == [] and parallelism_errors({"parts": 4}) == []
    assert parallelism_errors(4) == ["parallelism must be a JSON object, e.g. {\"parts\": 4}."]
    assert parallelism_errors({"parts": 0}) == ["parallelism.parts must be a whole number from 1 to 64; got 0."]
    assert parallelism_errors({"parts": True, "threads": 2}) == [
        "parallelism.threads: unknown key; known keys: parts.",
        "parallelism.parts must be a whole number from 1 to 64; got true."]


def test_configurations_a_split_cannot_keep_exact_run_as_one_part():
    def obstacle(data):
        return split_obstacle(PipelineConfig.read(data))

    assert obstacle({"transformations": ["clean_duplicates", "enrich_product_data"]}) == ""
    assert "unique" in obstacle({"validation_rules": {"unique": ["id"]}})
    assert "validate_amounts" in obstacle({"transformations": ["clean_duplicates", "validate_amounts"]})
    assert obstacle({"transformations": ["validate_amounts", "clean_duplicates"]}) == ""
