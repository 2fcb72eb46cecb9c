"""`replace_run_rows`: a run's rows written again replace the earlier ones of the same scope, and only those."""

from __future__ import annotations

import pytest

from analytics.queries.run_rows import replace_run_rows

COLUMNS = ["table_name", "column_name", "metric_name", "metric_value", "is_passed", "pipeline_run_id"]


def _row(table, column, value, run):
    return [table, column, "null_rate", value, True, run]


def _stored(clickhouse):
    return sorted((r["pipeline_run_id"], r["table_name"], r["column_name"], r["metric_value"]) for r in clickhouse.rows(
        "SELECT pipeline_run_id, table_name, column_name, metric_value FROM data_quality_metrics"))


def test_a_run_written_again_replaces_its_rows_of_the_scope_only(clickhouse):
    assert replace_run_rows(clickhouse, "data_quality_metrics", 1,
                            [_row("sales", "a", 0.1, 1), _row("stock", "b", 0.2, 1)], COLUMNS) == 2
    replace_run_rows(clickhouse, "data_quality_metrics", 2, [_row("sales", "a", 0.3, 2)], COLUMNS)
    # run 1 measured again for "sales" only: its "stock" row and run 2 stay
    assert replace_run_rows(clickhouse, "data_quality_metrics", 1, [_row("sales", "a", 0.5, 1)], COLUMNS,
                            also={"table_name": "sales"}) == 1
    assert _stored(clickhouse) == [(1, "sales", "a", 0.5), (1, "stock", "b", 0.2), (2, "sales", "a", 0.3)]
    # a list in `also` is "one of"; no rows: the scope is emptied and nothing is inserted
    replace_run_rows(clickhouse, "data_quality_metrics", 1, [], COLUMNS, also={"table_name": ["sales", "stock"]})
    assert _stored(clickhouse) == [(2, "sales", "a", 0.3)]


def test_batches_split_the_insert(clickhouse):
    seen = []

    def halves(rows):
        seen.append(len(rows))
        return [rows[:1], rows[1:]]

    replace_run_rows(clickhouse, "data_quality_metrics", 3, [_row("t", "a", 1.0, 3), _row("t", "b", 2.0, 3)],
                     COLUMNS, batches=halves)
    assert seen == [2] and [r[1:3] for r in _stored(clickhouse)] == [("t", "a"), ("t", "b")]


@pytest.mark.parametrize("table, columns, also", [
    ("data_quality_metrics; DROP TABLE x", COLUMNS, None),
    ("data_quality_metrics", [*COLUMNS[:-1], "pipeline_run_id`"], None),
    ("data_quality_metrics", COLUMNS, {"table_name = '' OR 1": "x"}),
])
def test_names_that_are_not_identifiers_are_refused(table, columns, also):
    with pytest.raises(ValueError, match="not an identifier"):
        replace_run_rows(None, table, 1, [], columns, also=also)
