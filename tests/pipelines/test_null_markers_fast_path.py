"""The NULL-marker shortcut (a look at values' edges and lengths before trimming and looking them up) turns
exactly the values into NULL that trimming and looking up every value did: random batches of markers, markers
with ASCII and Unicode spaces around them, near misses, numbers, non-ASCII text, empty strings and NULLs, in
whole arrays, sliced arrays (a non-zero offset) and large strings."""

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipelines.inference import DEFAULT_NULL_VALUES, null_markers_apply


def _reference(batch: pa.RecordBatch, markers: tuple[str, ...]) -> pa.RecordBatch:
    """The previous implementation: every text column trimmed and looked up."""
    value_set = pa.array(list(markers), pa.string())
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            marked = pc.is_in(pc.utf8_trim_whitespace(column), value_set=value_set.cast(column.type))
            if pc.any(marked).as_py():
                column = pc.if_else(marked, pa.scalar(None, column.type), column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


POOL = [*DEFAULT_NULL_VALUES, " NA", "NA ", "\tnull", "N/A\u00a0", "\u2003NaN", "NAN", "na", "N/A/", "Nonee",
        "N", "", "0", "12.5", "-3", "ñA", "Ωmega", "NA NA", "nulL", " ", "\u00a0", "abc", "None\n"]


def _column(rng: random.Random, rows: int, kind: str) -> list:
    if kind == "numbers":  # a column where no value has a marker's shape: the shortcut skips it
        return [str(rng.randint(-999, 99999)) if rng.random() > 0.05 else None for _ in range(rows)]
    return [rng.choice(POOL) if rng.random() > 0.1 else None for _ in range(rows)]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("arrow_type", [pa.string(), pa.large_string()])
def test_the_shortcut_marks_what_trimming_every_value_marked(seed, arrow_type):
    rng = random.Random(seed)
    rows = rng.randint(1, 60)
    kinds = [rng.choice(["pool", "numbers"]) for _ in range(3)]
    arrays = [pa.array(_column(rng, rows + 7, kind), arrow_type) for kind in kinds]
    start = rng.randint(0, 7)
    arrays = [array.slice(start, rows) for array in arrays]  # a batch cut out of a bigger one
    batch = pa.RecordBatch.from_arrays(arrays, names=["a", "b", "c"])
    markers = DEFAULT_NULL_VALUES if seed % 3 else tuple(rng.sample(POOL[:12], 3))
    markers = tuple(m for m in markers if m)
    assert null_markers_apply(batch, markers).to_pylist() == _reference(batch, markers).to_pylist()


def test_a_column_of_nulls_and_empty_values_is_left_as_it_is():
    batch = pa.RecordBatch.from_arrays([pa.array([None, "", None], pa.string())], names=["a"])
    assert null_markers_apply(batch, DEFAULT_NULL_VALUES).to_pylist() == batch.to_pylist()
