"""etlsite.identifiers: column names from data made safe, unique and stable."""

import re
import sqlite3

import pytest

from etlsite.identifiers import (
    MAX_IDENTIFIER_LENGTH,
    quote_identifier_pg,
    sanitize_columns,
    sanitize_identifier,
)

VALID = re.compile(r"^[a-z][a-z0-9_]*$|^c_[a-z0-9_]*$")


@pytest.mark.parametrize(("name", "expected"), [
    ("date", "date"), ("amount", "amount"), ("product_id", "product_id"),  # the specification's names stay
    ("Product ID", "product_id"), ("  Amount (USD)  ", "amount_usd"), ("a--b__c", "a_b_c"),
    ("сумма", "summa"), ("Дата продажи", "data_prodazhi"), ("Щука Ёж", "shchuka_yozh"), ("Объём", "obyom"),
    ("Café Crème", "cafe_creme"), ("Straße", "strasse"),
    ("2024 total", "c_2024_total"), ("1", "c_1"),
    ("_x", "x"), ("_row_number", "row_number"), ("__", "column_1"),
    ("select", "select"), ("FROM", "from"), ("order", "order"),
    ('a"; DROP TABLE users; --', "a_drop_table_users"), ("x' OR '1'='1", "x_or_1_1"), ("`tick`", "tick"),
    ("名前", "column_1"), ("😀", "column_1"), ("", "column_1"), ("   ", "column_1"), ("\x00\n\t", "column_1"),
])
def test_sanitize_identifier(name, expected):
    assert sanitize_identifier(name) == expected


def test_blank_names_take_their_position():
    assert sanitize_columns(["id", "", "  ", "名前"]) == ["id", "column_2", "column_3", "column_4"]


def test_long_names_are_cut_to_63_characters_without_a_trailing_underscore():
    assert sanitize_identifier("a" * 500) == "a" * MAX_IDENTIFIER_LENGTH
    assert sanitize_identifier("a" * 62 + " b") == "a" * 62  # the cut lands on "_": dropped
    long = ["x" * 500, "x" * 500, "x" * 500]
    result = sanitize_columns(long)
    assert result == ["x" * 63, "x" * 61 + "_2", "x" * 61 + "_3"]
    assert all(len(name) <= MAX_IDENTIFIER_LENGTH for name in result)


def test_duplicates_get_numbered_and_columns_keep_their_own_names():
    assert sanitize_columns(["a", "A", "a "]) == ["a", "a_2", "a_3"]
    assert sanitize_columns(["a", "a", "a_2"]) == ["a", "a_3", "a_2"]
    assert sanitize_columns(["Amount", "amount", "AMOUNT_2", "amount"]) == ["amount", "amount_3", "amount_2",
                                                                            "amount_4"]
    assert sanitize_columns(["", "column_1"]) == ["column_1", "column_1_2"]


def test_ten_thousand_columns_are_unique_valid_and_fast():
    names = [f"Col {i % 100}" for i in range(10_000)] + ["" for _ in range(100)] + ["сумма"] * 50
    result = sanitize_columns(names)
    assert len(result) == len(names) and len(set(result)) == len(result)
    assert all(VALID.match(name) and len(name) <= MAX_IDENTIFIER_LENGTH for name in result)
    assert result[:3] == ["col_0", "col_1", "col_2"] and result[100] == "col_0_2"
    assert result[-1] == "summa_50"


def test_sanitized_names_work_as_quoted_identifiers_in_sqlite():
    hostile = ['a"b', "select", "drop table t; --", "сумма", "", "1st", "_row_number", "x" * 500, "a", "A"]
    columns = sanitize_columns(hostile)
    connection = sqlite3.connect(":memory:")
    connection.execute(f"CREATE TABLE t ({', '.join(quote_identifier_pg(c) + ' TEXT' for c in columns)})")
    assert [row[1] for row in connection.execute("PRAGMA table_info(t)")] == columns


def test_quote_identifier_pg_doubles_quotes_and_refuses_nul_and_empty():
    assert quote_identifier_pg("amount") == '"amount"'
    assert quote_identifier_pg('we"ird') == '"we""ird"'
    assert quote_identifier_pg('"; DROP TABLE x; --') == '"""; DROP TABLE x; --"'
    connection = sqlite3.connect(":memory:")
    name = 'a"; DROP TABLE t; --'
    connection.execute(f"CREATE TABLE t ({quote_identifier_pg(name)} TEXT)")
    assert [row[1] for row in connection.execute("PRAGMA table_info(t)")] == [name]
    with pytest.raises(ValueError, match="empty"):
        quote_identifier_pg("")
    with pytest.raises(ValueError, match="NUL"):
        quote_identifier_pg("a\x00b")
