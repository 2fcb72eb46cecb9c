"""Row hashes: equal rows hash equal in any batch, a row changed in any one column hashes differently, and NULL
is not "" nor 0."""

import itertools
import random
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa

from pipelines.transformations.keys import row_hashes

ROWS = 400


def _table(rng: random.Random) -> pa.Table:
    return pa.table({
        "n": pa.array([rng.choice([None, 0, 1, -1, rng.randint(-10**12, 10**12)]) for _ in range(ROWS)], pa.int64()),
        "x": pa.array([rng.choice([None, 0.0, -0.5, rng.random()]) for _ in range(ROWS)], pa.float64()),
        "s": pa.array([rng.choice([None, "", "a", "ab", "ba", "NA", "é", str(rng.random())]) for _ in range(ROWS)]),
        "t": pa.array([rng.choice([None, datetime(2013, 1, 1, rng.randint(0, 23), tzinfo=timezone.utc)])
                       for _ in range(ROWS)], pa.timestamp("us", tz="UTC")),
    })


def test_a_row_changed_in_one_column_hashes_differently_and_equal_rows_hash_equal():
    rng = random.Random(7)
    table = _table(rng)
    columns = table.column_names
    hashes = row_hashes(table, columns)
    # The same rows in other batches (sliced, recombined) hash the same.
    halves = np.concatenate([row_hashes(table.slice(0, 150), columns), row_hashes(table.slice(150), columns)])
    assert (halves == hashes).all()
    rows = table.to_pylist()
    keys = [tuple(row[c] for c in columns) for row in rows]
    for i, j in itertools.combinations(range(ROWS), 2):
        assert (hashes[i] == hashes[j]) == (keys[i] == keys[j])
    # Each row changed in one column (NULL to a value, "" included, or a value to another): a different hash.
    for name in columns:
        changed = pa.array([_another(name, value) for value in table.column(name).to_pylist()],
                           table.schema.field(name).type)
        assert (row_hashes(table.set_column(columns.index(name), name, changed), columns) != hashes).all(), name


INSTEAD_OF_NULL = {"n": 0, "x": 0.0, "s": "", "t": datetime(2000, 1, 1, tzinfo=timezone.utc)}


def _another(name: str, value):
    if value is None:
        return INSTEAD_OF_NULL[name]
    if name == "s":
        return None if value == "" else value + "x"
    if name == "t":
        return value.replace(year=value.year + 1)
    return value + 1
