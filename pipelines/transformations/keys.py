"""Row keys seen earlier in a run, for `clean_duplicates` and the `unique` rule, held as 64-bit hashes.

`row_hashes` hashes the values of some columns of every row with numpy over the Arrow buffers (no Python per
row): numbers, dates, times and booleans by their 64-bit value, other columns as text (NULL distinct from ""),
each byte mixed with its position by the splitmix64 finalizer, XOR-ed per value; then the columns combined in
order.

`HashSet` keeps the hashes of a run in sorted numpy arrays (a few levels merged like a binary counter), so
memory is 8 bytes per distinct key (10 million distinct rows: about 80 MB, twice that while two levels merge),
and a batch's lookup is a binary search per level. Two different keys share a hash with probability 2**-64;
over n distinct keys the chance that any row is wrongly taken for a repeat is about n**2 / 2**65
(10 million rows: 3 in a million).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_NULL = np.uint64(0x6A09E667F3BCC909)
_S27, _S30, _S31 = np.uint64(27), np.uint64(30), np.uint64(31)
_LENGTH_SEED = np.uint64(0x3C6EF372FE94F82B)
_COMBINE = np.uint64(0x100000001B3)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64: a bijection of uint64 with full avalanche (every input bit flips about half the output bits).
    In place on a copy with one scratch array: the arithmetic over a batch is memory-bound, and each temporary
    array numpy would make is a fresh allocation (page faults) as large as the batch's column."""
    z = z + _GAMMA
    scratch = np.empty_like(z)
    for shift, multiplier in ((_S30, _M1), (_S27, _M2)):
        np.right_shift(z, shift, out=scratch)
        z ^= scratch
        z *= multiplier
    np.right_shift(z, _S31, out=scratch)
    z ^= scratch
    return z


def _fixed_width_bits(array: pa.Array) -> np.ndarray | None:
    """The values of a number, date, time or boolean column as uint64 bits (a column keeps one type for a whole
    run, so equal values give equal bits); None for text and other types."""
    t = array.type
    if pa.types.is_date32(t) or pa.types.is_time32(t):
        ints = pc.cast(array.view(pa.int32()), pa.int64())
    elif pa.types.is_int64(t) or pa.types.is_uint64(t):
        ints = array.view(pa.int64())
    elif pa.types.is_boolean(t) or pa.types.is_integer(t):
        ints = pc.cast(array, pa.int64())
    elif pa.types.is_timestamp(t) or pa.types.is_duration(t) or pa.types.is_date64(t) or pa.types.is_time64(t):
        ints = array.view(pa.int64())
    elif pa.types.is_floating(t):
        ints = pc.cast(array, pa.float64()).view(pa.int64()) if not pa.types.is_float64(t) else array.view(
            pa.int64())
    else:
        return None
    return ints.fill_null(0).to_numpy(zero_copy_only=False).view(np.uint64)


def _column_hashes(values) -> np.ndarray:
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    bits = _fixed_width_bits(array)
    if bits is not None:  # one mix per value instead of one per byte of its text
        hashes = _mix(bits ^ _LENGTH_SEED)
        if array.null_count:
            hashes[~array.is_valid().to_numpy(zero_copy_only=False)] = _NULL
        return hashes
    if len(array) > 1 and not pa.types.is_dictionary(array.type):
        # Text repeats (codes, names): hash each distinct value once, then look the rows up.
        encoded = pc.dictionary_encode(array)
        if len(encoded.dictionary) < len(array) // 2:
            hashes = _text_hashes(encoded.dictionary)[encoded.indices.fill_null(0).to_numpy(zero_copy_only=False)]
            if encoded.null_count:
                hashes[~encoded.is_valid().to_numpy(zero_copy_only=False)] = _NULL
            return hashes
    return _text_hashes(array)


def _text_hashes(array: pa.Array) -> np.ndarray:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if not (pa.types.is_large_binary(array.type)):
        if not (pa.types.is_binary(array.type) or pa.types.is_string(array.type)
                or pa.types.is_large_string(array.type)):
            array = pc.cast(array, pa.string())
        array = pc.cast(array, pa.large_binary())
    count = len(array)
    _validity, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64, count=count + 1, offset=array.offset * 8)
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    data = data[offsets[0]:offsets[-1]]
    starts = offsets[:-1] - offsets[0]
    lengths = np.diff(offsets)
    if len(data):
        positions = np.arange(len(data), dtype=np.int64) - np.repeat(starts, lengths)
        per_byte = _mix((positions.astype(np.uint64) << np.uint64(8)) | data.astype(np.uint64))
        folded = np.bitwise_xor.reduceat(np.append(per_byte, np.uint64(0)), starts)
        folded[lengths == 0] = 0
    else:
        folded = np.zeros(count, dtype=np.uint64)
    hashes = _mix(folded ^ _mix(lengths.astype(np.uint64) ^ _LENGTH_SEED))
    if array.null_count:
        hashes[~array.is_valid().to_numpy(zero_copy_only=False)] = _NULL
    return hashes


def row_hashes(table: pa.Table | pa.RecordBatch, columns: list[str]) -> np.ndarray:
    """One uint64 per row from the values of `columns` (in that order).

    The columns' hashes are combined as a polynomial, h = h * P + column hash (mod 2**64), and mixed once at
    the end. P is odd, so multiplying by a power of it is a bijection: two rows that differ in one column
    never share a hash, and differing in several, they share one with probability about 2**-64 (each column's
    hash is already mixed). A mix per column and per combination cost twice the arithmetic for nothing."""
    combined = np.full(table.num_rows, _NULL, dtype=np.uint64)
    for name in columns:
        combined *= _COMBINE
        combined += _column_hashes(table.column(name))
    return _mix(combined)


def first_occurrences(hashes: np.ndarray) -> np.ndarray:
    """True where a hash appears for the first time in the array."""
    first = np.zeros(len(hashes), dtype=bool)
    if len(hashes):
        first[np.unique(hashes, return_index=True)[1]] = True
    return first


class HashSet:
    def __init__(self):
        self._levels: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(level) for level in self._levels)

    @property
    def nbytes(self) -> int:
        return sum(level.nbytes for level in self._levels)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(hashes), dtype=bool)
        for level in self._levels:
            at = np.searchsorted(level, hashes)
            at[at == len(level)] = 0
            found |= level[at] == hashes
        return found

    def add(self, hashes: np.ndarray) -> None:
        new = np.unique(hashes)
        self._add_sorted(new[~self.contains(new)])

    def _add_sorted(self, new: np.ndarray) -> None:
        """Add hashes that are sorted, distinct and not in the set yet."""
        if not len(new):
            return
        self._levels.append(new)
        # Merge while a level is no more than twice the size of the next: O(log n) levels, each key merged
        # O(log n) times. A stable sort of two sorted runs is a linear merge (timsort).
        while len(self._levels) > 1 and len(self._levels[-2]) <= 2 * len(self._levels[-1]):
            last = self._levels.pop()
            self._levels[-1] = np.sort(np.concatenate([self._levels[-1], last]), kind="stable")

    def keep_new(self, hashes: np.ndarray) -> np.ndarray:
        """Mask of rows seen for the first time in the run (first in this array and not seen before); adds them."""
        keep = np.zeros(len(hashes), dtype=bool)
        if not len(hashes):
            return keep
        # Each distinct hash looked up once, in sorted order (a batch of repeats asks far fewer, and sorted
        # needles keep the binary searches in cache); the new ones are added as they are (sorted, unique).
        distinct, first_at = np.unique(hashes, return_index=True)
        new = ~self.contains(distinct)
        keep[first_at[new]] = True
        self._add_sorted(distinct[new])
        return keep
