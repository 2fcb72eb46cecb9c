"""Detect personal data in a column from a sample of its values.

`pii_detect(values)` returns the kind of personal data most of the sampled values look like (e-mail, phone,
card, Russian passport, INN, person's name) with its evidence, or ``None``. It only ever *suggests*: the
catalog stores the finding as ``suggested`` and a person confirms or rejects it.

Checks are deliberately conservative, since a false alarm on every ID column would teach people to ignore
suggestions: card numbers must pass the Luhn check, INNs the official checksum, phones need a phone-like
format (a leading ``+``, a Russian 7/8 prefix, or separators; never a signed or decimal number), and names
must look like two or three capitalised words *and* some of them must be known first names or Russian
patronymics. Only text columns are looked at: never numbers or dates, whatever their printed digits look like.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from django.utils.translation import gettext_lazy as _

DEFAULT_THRESHOLD = 0.8
DEFAULT_SAMPLE_LIMIT = 1000
# Share of name-shaped values that must contain a known first name or a patronymic: title-case product
# names ("Ceramic Mug") have the shape of a name but almost never contain one.
NAME_CORROBORATION = 0.3

KIND_LABELS = {
    "email": _("E-mail address"),
    "phone": _("Phone number"),
    "card": _("Payment card number"),
    "passport_ru": _("Passport number (Russia)"),
    "inn": _("Taxpayer number (INN)"),
    "person_name": _("Person's name"),
}


@dataclass(frozen=True)
class PiiFinding:
    kind: str
    pattern: str  # what was matched, in words: stored as evidence
    share: float  # share of the sampled non-null values that match
    matched: int
    sample_size: int

    @property
    def label(self):
        return KIND_LABELS.get(self.kind, self.kind)

    def evidence(self) -> dict:
        return asdict(self)


# --- per-value checks ----------------------------------------------------------------------------------
_EMAIL = re.compile(r"^[^\s@<>(),;:\"]+@[^\s@<>(),;:\"]+\.[^\s@<>(),;:\"\d]{2,}$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().-]+$")
_DECIMAL = re.compile(r"^[+-]?\d+[.,]\d+(?:[eE][+-]?\d+)?$")
_CARD_CHARS = re.compile(r"^\d[\d -]*\d$")
_PASSPORT = re.compile(r"^\d{4} ?\d{6}$")
_INN = re.compile(r"^\d{10}(?:\d{2})?$")
_NAME_WORD = re.compile(r"^[A-ZА-ЯЁ][a-zа-яё']+(?:-[A-ZА-ЯЁ][a-zа-яё']+)?$")
_PATRONYMIC = re.compile(r"(?:ович|евич|ич|овна|евна|ична|инична)$")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def is_phone(value: str) -> bool:
    # A signed or single-decimal-point number (a coordinate, a price) is a number, whatever its digit count.
    if not _PHONE_CHARS.match(value) or value.startswith("-") or _DECIMAL.match(value):
        return False
    digits = _digits(value)
    if not 10 <= len(digits) <= 15:
        return False
    if value.startswith("+"):
        return True
    if len(digits) == 11 and digits[0] in "78" and digits[1] in "3489":
        return True  # Russian: 7 or 8, then a mobile (9xx) or geographic (3xx, 4xx, 8xx) code
    # Bare digit strings are IDs as often as phones: require the separators people write phones with.
    return bool(re.search(r"[\s()-]", value)) and len(re.findall(r"\d+", value)) >= 2


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_card(value: str) -> bool:
    if not _CARD_CHARS.match(value):
        return False
    digits = _digits(value)
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_ok(digits)


def is_passport_ru(value: str) -> bool:
    return bool(_PASSPORT.match(value)) and len(set(_digits(value))) > 1


_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _inn_check(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_ok(value: str) -> bool:
    """The official checksum of a Russian INN: 10 digits (organisations) or 12 (individuals)."""
    if not _INN.match(value) or len(set(value)) == 1:
        return False
    if len(value) == 10:
        return _inn_check(value, _INN10) == int(value[9])
    return _inn_check(value, _INN11) == int(value[10]) and _inn_check(value, _INN12) == int(value[11])


# A small list: it only has to corroborate the shape, not to recognise every name.
COMMON_FIRST_NAMES = frozenset("""
james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony mark
donald steven paul andrew joshua kevin brian george edward peter jack harry oliver tom sam max alex
mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa betty margaret sandra
ashley emily donna michelle carol amanda melissa deborah laura emma olivia sophia anna maria julia kate
alexander alexey aleksey andrey andrei dmitry dmitri sergey sergei ivan mikhail nikolai nikolay vladimir
pavel igor oleg yuri yury artem maxim roman denis evgeny anton boris viktor ilya kirill konstantin
natalia natalya olga elena irina tatiana tatyana svetlana ekaterina marina yulia anastasia daria
александр алексей андрей дмитрий сергей иван михаил николай владимир павел игорь олег юрий артём артем
максим роман денис евгений антон борис виктор илья кирилл константин пётр петр григорий фёдор федор
мария анна елена ольга наталья наталия ирина татьяна светлана екатерина марина юлия анастасия дарья
людмила галина валентина нина вера надежда любовь ксения полина софья алина виктория
""".split())


def _name_shape(value: str) -> list[str] | None:
    words = value.split()
    if 2 <= len(words) <= 3 and all(_NAME_WORD.match(w) for w in words):
        return words
    return None


def _name_corroborated(words: list[str]) -> bool:
    return any(w.lower() in COMMON_FIRST_NAMES or
               (len(words) == 3 and _PATRONYMIC.search(w.lower())) for w in words)


@dataclass(frozen=True)
class _Check:
    kind: str
    pattern: str
    test: Callable[[str], bool]


# Order breaks ties: checksum-verified kinds first (a valid INN is also "passport-like" 10 digits).
_CHECKS = (
    _Check("card", "13-19 digits passing the Luhn check", is_card),
    _Check("inn", "10 or 12 digits passing the INN checksum", inn_ok),
    _Check("email", "local@domain.tld", is_email),
    _Check("passport_ru", "4 + 6 digits (series and number), optional space", is_passport_ru),
    _Check("phone", "10-15 digits with +, Russian 7/8 prefix or separators", is_phone),
)


def sample_values(values: Iterable, limit: int = DEFAULT_SAMPLE_LIMIT) -> list[str]:
    """Non-null, non-blank values as stripped strings, at most `limit`, spread evenly over the input."""
    present = [str(v).strip() for v in values if v is not None]
    present = [v for v in present if v]
    if len(present) > limit:
        step = len(present) / limit
        present = [present[int(i * step)] for i in range(limit)]
    return present


_SQL_TEXT_TYPES = {"text", "character varying", "varchar", "character", "char", "bpchar"}


def is_text_type(data_type: str) -> bool:
    """Whether a ClickHouse column type holds text: only text columns can hold personal data in the shapes
    checked here (a Float64 longitude printed as "-122.3090833" is not a phone, an Int64 is not a card)."""
    if not data_type:
        return True  # unknown type: judge the values
    if data_type.lower().split("(")[0].strip() in _SQL_TEXT_TYPES:
        return True  # a staging table's column (PostgreSQL)
    inner = re.sub(r"^(?:(?:Nullable|LowCardinality)\()+", "", data_type).rstrip(")")
    return inner == "String" or inner.startswith("FixedString(")


def pii_detect(values: Iterable[str | None], *, threshold: float = DEFAULT_THRESHOLD,
               sample_limit: int = DEFAULT_SAMPLE_LIMIT, data_type: str = "String") -> PiiFinding | None:
    """The kind of personal data at least `threshold` of the sampled non-null values match, or None.

    `data_type` is the column's ClickHouse type: numbers, dates and other non-text columns are never flagged.
    """
    if not is_text_type(data_type):
        return None
    sample = sample_values(values, sample_limit)
    n = len(sample)
    if not n:
        return None
    best: PiiFinding | None = None
    for check in _CHECKS:
        matched = sum(1 for v in sample if check.test(v))
        share = matched / n
        if share >= threshold and (best is None or share > best.share):
            best = PiiFinding(check.kind, check.pattern, round(share, 4), matched, n)
    shaped = [words for words in map(_name_shape, sample) if words]
    share = len(shaped) / n
    if share >= threshold and (best is None or share > best.share):
        known = sum(1 for words in shaped if _name_corroborated(words))
        if known and known / len(shaped) >= NAME_CORROBORATION:
            best = PiiFinding("person_name", "2-3 capitalised words, some with a known first name or patronymic",
                              round(share, 4), len(shaped), n)
    return best
