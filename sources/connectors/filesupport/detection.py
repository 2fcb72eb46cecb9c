"""Guessing what a text file does not say: its encoding, its CSV dialect, and decimal commas."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import string
import unicodedata
from dataclasses import dataclass

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


@dataclass(frozen=True)
class EncodingGuess:
    """What `guess_encoding` found. `confident` is False when another common code page reads the same bytes
    as different letters and nothing in the text decided between them: the run warns, the preview shows it.
    `invalid_utf8_at` is the offset of the first byte that breaks an otherwise UTF-8 sample."""

    encoding: str | None
    how: str
    confident: bool = True
    invalid_utf8_at: int | None = None


# Single-byte code pages Latin text is written in, in order of preference when the text cannot tell them
# apart: Western European first (by far the most files), then Central European, Baltic, Turkish.
_LATIN_CODE_PAGES = ("cp1252", "cp1250", "cp1257", "cp1254")
_COMMON_LATIN_CODE_PAGES = ("cp1252", "cp1250")
# The accented letters (lower case) of the languages written in each code page. A reading whose letters no
# language of its code page has, or that needs several languages where another reading needs one, is the less
# plausible one: Czech has no "ç", and "Agnès, crème brûlée" is French while "Agnčs, crčme brűlée" would be
# Czech and Hungarian at once.
_LANGUAGES = {
    "cp1252": {"French": "àâæçéèêëîïôœùûüÿ", "Spanish": "áéíñóúü", "Portuguese": "áâãàçéêíóôõúü",
               "Italian": "àèéìíîòóùú", "Catalan": "àçèéíïòóúü", "German": "äöüß", "Dutch": "áéèëïóöüú",
               "Danish/Norwegian": "åæøéó", "Swedish": "åäöé", "Finnish": "åäöšž", "Icelandic": "áæéíóöúýþð",
               "Faroese": "áæíðóøúý", "Estonian": "äöõüšž", "Irish": "áéíóú"},
    "cp1250": {"Czech": "áéíóúýčďěňřšťůž", "Slovak": "áäéíóôúýčďĺľňŕšťž", "Polish": "ąćęłńóśźż",
               "Hungarian": "áéíóöőúüű", "Slovene": "čšž", "Croatian": "čćđšž", "Romanian": "ăâîşţ",
               "German": "äöüß"},
    "cp1257": {"Lithuanian": "ąčęėįšųūž", "Latvian": "āčēģīķļņšūž", "Estonian": "äöõüšž", "Polish": "ąćęłńóśźż",
               "German": "äöüß"},
    "cp1254": {"Turkish": "çğıöşüâîû", "German": "äöüß"},
}
_ALPHABETS = {page: frozenset("".join(languages.values())) for page, languages in _LANGUAGES.items()}
# Languages for which charset-normalizer's cp1250 / ISO 8859-2 answer is the plausible one.
_CENTRAL_EUROPEAN = {"Czech", "Polish", "Slovak", "Hungarian", "Croatian", "Slovene", "Romanian", "Serbian",
                     "Bosnian", "Albanian"}


def _valid_utf8_sequences(sample: bytes) -> tuple[int, int | None]:
    """(multi-byte characters decoded, offset of the first invalid byte or None) for a UTF-8 reading."""
    decoded, offset, first_bad = 0, 0, None
    decoder = codecs.getincrementaldecoder("utf-8")()
    while offset < len(sample):
        try:
            text = decoder.decode(sample[offset:], final=False)
        except UnicodeDecodeError as exc:
            text = sample[offset:offset + exc.start].decode("utf-8", errors="ignore")
            first_bad = offset + exc.start if first_bad is None else first_bad
            decoded += sum(1 for ch in text if ord(ch) > 0x7F)
            offset += exc.end
            decoder.reset()
            continue
        decoded += sum(1 for ch in text if ord(ch) > 0x7F)
        break
    return decoded, first_bad


def _misplaced_symbols(text: str) -> int:
    """Non-ASCII symbols (not letters) where a letter belongs: inside a word, or opening one ("£ukasz", the
    cp1252 reading of a Polish "Łukasz"). A right reading of Latin text has letters there."""
    count = 0
    for index, char in enumerate(text):
        if ord(char) < 0x80 or unicodedata.category(char).startswith("L"):
            continue
        before = text[index - 1] if index else " "
        after = text[index + 1] if index + 1 < len(text) else " "
        if after.isalpha() and after.islower() and (before.isalpha() or not before.isalnum()):
            count += 1
    return count


def _paired_high_bytes(sample: bytes) -> bool:
    """Whether most non-ASCII bytes come in runs, as the two-byte characters of Shift JIS, GB18030 or EUC-KR
    do; the accented letters of Latin text mostly stand alone between ASCII letters."""
    high = [byte >= 0x80 for byte in sample]
    total = sum(high)
    paired = sum(1 for i, is_high in enumerate(high)
                 if is_high and ((i and high[i - 1]) or (i + 1 < len(high) and high[i + 1])))
    return total > 0 and paired >= 0.6 * total


def _accented_letters(text: str) -> set[str]:
    return {ch.lower() for ch in text if ord(ch) > 0x7F and unicodedata.category(ch).startswith("L")}


def _languages_needed(letters: set[str], languages: dict[str, str]) -> int:
    """The fewest languages of the code page whose letters together hold `letters` (4 standing for more)."""
    if not letters:
        return 0
    alphabets = [set(letters_of) for letters_of in languages.values()]
    for count in range(1, 4):
        if any(letters <= set().union(*group) for group in itertools.combinations(alphabets, count)):
            return count
    return 4


def _latin_single_byte(sample: bytes, results) -> tuple[EncodingGuess | None, int]:
    """The Latin code page that reads the sample as words of its languages, preferring cp1252 when several do,
    and how many symbols stand where letters belong in that reading.

    Compared in order: symbols where letters belong ("£ukasz"); letters no language of the code page has (a
    "ç" in a cp1250 reading); how many of its languages the reading needs. Then charset-normalizer's language
    when it names a Central European one, then the order of `_LATIN_CODE_PAGES`, where the Baltic and Turkish
    pages compete only when neither common page reads the sample as words. The guess is confident when the
    comparison (or the language) decided between cp1252 and cp1250; "Kèr" / "Kčr" alone is a guess."""
    readings = {}
    for encoding in _LATIN_CODE_PAGES:
        try:
            readings[encoding] = sample.decode(encoding)
        except UnicodeDecodeError:
            continue  # a byte this code page leaves undefined
    if not readings:
        return None, 0
    keys = {}
    for encoding, text in readings.items():
        letters = _accented_letters(text)
        foreign = letters - _ALPHABETS[encoding]
        keys[encoding] = (_misplaced_symbols(text), len(foreign),
                          _languages_needed(letters - foreign, _LANGUAGES[encoding]))
    common = [encoding for encoding in _COMMON_LATIN_CODE_PAGES if encoding in keys]
    if any(keys[encoding][:2] == (0, 0) for encoding in common):
        keys = {encoding: keys[encoding] for encoding in common}
    best_key = min(keys.values())
    candidates = [encoding for encoding in _LATIN_CODE_PAGES if keys.get(encoding) == best_key]
    best = results.best()
    central = (best is not None and normalize_encoding(best.encoding) in ("cp1250", "iso8859-2")
               and best.language in _CENTRAL_EUROPEAN)
    chosen = "cp1250" if central and "cp1250" in candidates else candidates[0]
    others = {readings[encoding] for encoding in candidates
              if encoding != chosen and encoding in _COMMON_LATIN_CODE_PAGES} - {readings[chosen]}
    confident = best_key[:2] == (0, 0) and (not others or central and chosen == "cp1250")
    return EncodingGuess(chosen, "detected", confident), best_key[0]


def guess_encoding(sample: bytes) -> EncodingGuess:
    """The encoding of the first bytes of a file, with how it was found and how sure that is."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return EncodingGuess(encoding, "bom")
    if sample.isascii():
        return EncodingGuess("utf-8", "ascii")
    multibyte, invalid_at = _valid_utf8_sequences(sample)
    if invalid_at is None:
        return EncodingGuess("utf-8", "valid utf-8")
    if multibyte and invalid_at < len(sample) - 3:
        # Real UTF-8 characters around a broken byte: a UTF-8 file with damage, not another code page (read as
        # one, every correct "é" of the file would turn into two wrong letters).
        high = len(sample.translate(None, _ASCII))
        if multibyte * 2 >= high / 2:
            return EncodingGuess("utf-8", "utf-8 with invalid bytes", invalid_utf8_at=invalid_at)
    results = from_bytes(sample)
    best = results.best()
    guess = _cyrillic_single_byte(sample)
    if guess:
        # Russian text in a single-byte code page. charset-normalizer ranks look-alikes (mac-cyrillic, cp1125...)
        # first on some samples; cp1251 and KOI8-R are what such files are in practice.
        for result in results:
            if result.encoding in ("cp1251", "koi8_r"):
                return EncodingGuess(normalize_encoding(result.encoding), "detected")
        if best is not None and best.language not in _CYRILLIC_LANGUAGES and _single_byte(best.encoding):
            return EncodingGuess(normalize_encoding(best.encoding), "detected")  # e.g. Greek, also at 0xC0-0xFF
        return EncodingGuess(guess, "detected")
    latin, misplaced = _latin_single_byte(sample, results)
    multibyte_text = best is not None and not _single_byte(best.encoding) and (misplaced or _paired_high_bytes(sample))
    if latin is not None and not multibyte_text:
        return latin
    if best is not None:
        return EncodingGuess(normalize_encoding(best.encoding), "detected", confident=False)
    return EncodingGuess(None, "unknown", confident=False)


def detect_encoding(sample: bytes) -> tuple[str | None, str]:
    """(encoding, how it was found) for the first bytes of a file; encoding None when nothing fits."""
    guess = guess_encoding(sample)
    return guess.encoding, guess.how


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
