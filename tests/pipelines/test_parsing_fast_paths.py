"""The shortcuts of `parse_values` (a column of plain numbers cast by Arrow, datetimes of one width checked byte
column by byte column) type exactly what the general path (cleaning, regular expressions) types, and fail
exactly the values it fails: random columns of clean values, near misses and NULLs, whole and sliced."""

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipelines.transformations import parsing
from pipelines.transformations.parsing import ARROW_TYPES, DEFAULT_OPTIONS, parse_values


def _general(values: pa.Array, type_name: str):
    """The general path alone, as parse_values takes it when no shortcut applies."""
    text = parsing._clean_text(values)
    typed, ok = parsing._PARSERS[type_name](text, DEFAULT_OPTIONS)
    failed = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(ok, False)))
    return pc.if_else(failed, pa.scalar(None, ARROW_TYPES[type_name]), typed).to_pylist(), failed.to_pylist()


CLEAN = {
    "integer": lambda rng: str(rng.randint(-99_999, 99_999)),
    "datetime": lambda rng: (f"{rng.randint(1000, 2999)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                             f"{rng.choice('T ')}{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                             f"{rng.randint(0, 59):02d}{rng.choice(['Z', ''])}"),
}
NEAR_MISSES = {
    "integer": ["+5", " 5", "5 ", "0x1F", "1,234", "-", "", "1e3", "1.0", "99999999999999999999", "٣", "--1"],
    "datetime": ["2013-02-30T10:00:00Z", "0999-01-01 10:00:00", "2013-01-01X10:00:00", "2013-01-01T10:00:00+",
                 "2013-13-01 10:00:00", "2013-01-01 24:00:00", "2013-01-01T10:00:60Z", "2013/01/01 10:00:00",
                 "2013-01-01T10:00:00.5Z", "2013-01-01 10:00", " 2013-01-01 10:00:00", "2013-01-01T10:00:00z",
                 "2013-01-01T10:00:00+03:00", "20130101T100000Z", "２013-01-01 10:00:00", ""],
}


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("type_name", ["integer", "datetime"])
def test_shortcuts_type_and_fail_what_the_general_path_does(seed, type_name):
    rng = random.Random(seed)
    rows = rng.randint(1, 80)
    # Most seeds: a clean column (the shortcut's case), one width for datetimes; some with a near miss or two.
    width_kind = rng.choice(["Z", ""]) if type_name == "datetime" else None
    values = []
    for _ in range(rows + 5):
        if rng.random() < 0.1:
            values.append(None)
        elif seed % 3 == 0 and rng.random() < 0.2:
            values.append(rng.choice(NEAR_MISSES[type_name]))
        else:
            value = CLEAN[type_name](rng)
            if width_kind is not None and seed % 5:
                value = value.rstrip("Z") + width_kind
            values.append(value)
    array = pa.array(values, pa.string()).slice(rng.randint(0, 5), rows)
    parsed = parse_values(array, type_name)
    expected_values, expected_failed = _general(array, type_name)
    assert parsed.values.to_pylist() == expected_values
    assert parsed.failed.to_pylist() == expected_failed


@pytest.mark.parametrize("values,shape", [
    (["2013-01-01T10:00:00Z", None, "2013-12-31T23:59:59Z"], "zoned"),
    (["2013-01-01 10:00:00", "2013-01-01T10:00:00"], "naive"),
    (["2013-01-01 10:00:00", "2013-01-01T10:00:00Z"], None),  # two widths: the regular expressions decide
    (["2013-01-01 10:00:00", ""], None),  # an empty value is no datetime: the general path says so
    (["0013-01-01 10:00:00"], None),  # a year before 1000
    (["2013-01-01X10:00:00"], None), (["2013-01-01T10:00:00+"], None), (["2013-01-01 10-00-00"], None),
    ([None, None], None),
])
def test_the_one_width_shortcut_takes_only_its_own_shapes(values, shape):
    assert parsing._uniform_iso_shape(pa.array(values, pa.string())) == shape


@pytest.mark.parametrize("data,plain", [
    (b"0123456789", True), (b"-12-3", True), (b"12+3", False), (b"1 2", False), (b"1.5", False), (b"", True),
])
def test_plain_integer_bytes(data, plain):
    import numpy as np
    assert parsing._plain(np.frombuffer(data, np.uint8), "integer") is plain
