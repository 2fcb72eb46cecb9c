"""Guessing what a text file does not say: its encoding, its CSV dialect, and decimal commas."""

from __future__ import annotations

import codecs
import csv
import io
import re
import string

from charset_normalizer import from_bytes

ENCODING_SAMPLE_BYTES = 1 << 20
DIALECT_SAMPLE_CHARS = 64 * 1024
DIALECT_SAMPLE_LINES = 200
SNIFF_DELIMITERS = ",;\t|"

_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_ASCII = bytes(range(0x80))
_BELOW_C0 = bytes(range(0xC0))
_BELOW_E0 = bytes(range(0xE0))
_ASCII_LETTERS = string.ascii_letters.encode()
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def normalize_encoding(name: str) -> str:
    """Python's canonical name ("UTF8" -> "utf-8", "windows-1251" -> "cp1251"); LookupError when unknown."""
    return codecs.lookup(name).name


def is_text_encoding(name: str) -> bool:
    try:
        codecs.lookup(name)
        "a".encode(name)  # "hex", "base64"... are codecs but not text encodings
    except (LookupError, TypeError, ValueError):
        return False
    return True


def arrow_encoding(encoding: str) -> str:
    """What to give pyarrow.csv: its native UTF-8 path (which also drops a UTF-8 BOM) or a Python codec name."""
    return "utf8" if normalize_encoding(encoding) in ("utf-8", "utf-8-sig") else encoding


def ascii_compatible(encoding: str) -> bool:
    """Whether every ASCII character is the same single byte in `encoding` (UTF-8, cp1251, KOI8-R, Shift JIS...
    but not UTF-16/32), so that a NUL or quote byte in the file is that character."""
    return bytes(range(128)).decode(python_encoding(encoding), errors="replace") == bytes(range(128)).decode("ascii")


def python_encoding(encoding: str) -> str:
    """What to give Python's decoders: UTF-8 read as utf-8-sig, so a BOM never ends up in the first value."""
    return "utf-8-sig" if normalize_encoding(encoding) == "utf-8" else encoding


def _cyrillic_single_byte(sample: bytes) -> str | None:
    """cp1251 or KOI8-R for Russian text, None when the sample does not look like it.

    Both put the 64 letters at 0xC0-0xFF, lower case in opposite halves (cp1251: 0xE0-0xFF, KOI8-R: 0xC0-0xDF),
    and running text is mostly lower case. charset-normalizer alone misreads short KOI8-R samples (as cp932).
    """
    high = sample.translate(None, _ASCII)
    letters = high.translate(None, _BELOW_C0)
    if len(letters) < 4 or len(letters) < 0.7 * len(high):
        return None
    ascii_letters = len(sample) - len(sample.translate(None, _ASCII_LETTERS))
    if len(letters) < 0.3 * (len(letters) + ascii_letters):
        return None  # a Latin text with a few accented letters
    upper_half = len(letters.translate(None, _BELOW_E0))
    return "cp1251" if upper_half >= len(letters) - upper_half else "koi8-r"


_CYRILLIC_LANGUAGES = {"Russian", "Ukrainian", "Bulgarian", "Belarusian", "Serbian", "Macedonian", "Kazakh", "Unknown"}


def _single_byte(encoding: str) -> bool:
    return len(bytes(range(0x80, 0x100)).decode(encoding, errors="replace")) == 0x80


def detect_encoding(sample: bytes) -> tuple[str | None, str]:
    """(encoding, how it was found) for the first bytes of a file; encoding None when nothing fits."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding, "bom"
    if sample.isascii():
        return "utf-8", "ascii"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)  # the sample may end mid-character
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8", "valid utf-8"
    results = from_bytes(sample)
    best = results.best()
    guess = _cyrillic_single_byte(sample)
    if guess:
        # Russian text in a single-byte code page. charset-normalizer ranks look-alikes (mac-cyrillic, cp1125...)
        # first on some samples; cp1251 and KOI8-R are what such files are in practice.
        for result in results:
            if result.encoding in ("cp1251", "koi8_r"):
                return normalize_encoding(result.encoding), "detected"
        if best is not None and best.language not in _CYRILLIC_LANGUAGES and _single_byte(best.encoding):
            return normalize_encoding(best.encoding), "detected"  # e.g. Greek, which also fills 0xC0-0xFF
        return guess, "detected"
    if best is not None:
        return normalize_encoding(best.encoding), "detected"
    return None, "unknown"


def decode_sample(sample: bytes, encoding: str, *, complete: bool) -> str:
    """The sample as text, cut after its last full line unless it is the whole file."""
    text = codecs.getincrementaldecoder(python_encoding(encoding))(errors="replace").decode(sample, final=complete)
    if not complete and "\n" in text:
        text = text[: text.rindex("\n") + 1]
    return text


def sniff_dialect(text: str, *, delimiter: str | None, quote_char: str | None) -> tuple[str, str, str]:
    """(delimiter, quote char, how the delimiter was found). A given value wins; csv.Sniffer guesses the rest
    among , ; tab | and "," is the fallback."""
    sample = text[:DIALECT_SAMPLE_CHARS]
    if "\n" in sample[:-1]:
        sample = sample[: sample.rindex("\n") + 1]
    # csv.Sniffer's work grows with lines x distinct characters: 32,000 short lines take seconds
    sample = "".join(sample.splitlines(keepends=True)[:DIALECT_SAMPLE_LINES])
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=delimiter or SNIFF_DELIMITERS)
    except csv.Error:
        dialect = None
    if delimiter:
        how = "configured"
    elif dialect is not None:
        delimiter, how = dialect.delimiter, "sniffed"
    else:
        delimiter, how = ",", "default"
    if not quote_char:
        quote_char = (dialect.quotechar if dialect is not None else None) or '"'
    return delimiter, quote_char, how


def decimal_comma_columns(text: str, *, delimiter: str, quote_char: str, escape_char: str | None,
                          header: list[str] | None, max_rows: int = 200) -> list[str]:
    """Columns whose values look like "1,5" (a decimal comma), judged on the sample's first rows."""
    if delimiter == ",":
        return []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quote_char, escapechar=escape_char)
    matches: dict[int, int] = {}
    filled: dict[int, int] = {}
    try:
        rows = [row for _, row in zip(range(max_rows + 1), reader, strict=False) if row]
    except csv.Error:
        return []
    for row in rows[1:] if header is not None else rows:
        for index, value in enumerate(row):
            value = value.strip()
            if value:
                filled[index] = filled.get(index, 0) + 1
                if _DECIMAL_COMMA.match(value):
                    matches[index] = matches.get(index, 0) + 1
    names = header or []
    return [names[index] if index < len(names) else f"column_{index + 1}"
            for index in sorted(matches) if matches[index] >= 0.8 * filled[index]]
