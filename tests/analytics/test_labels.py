"""Stored codes worded in the reader's language at display time (issue 16): statuses, sensitivity, lineage,
personal-data evidence and the analysis results' recommendations."""

import pytest
from django.template import Context, Template
from django.utils import translation

from analytics import labels
from analytics.pii import pii_detect
from analytics.recommendations import recommendation, recommendation_text, recommendation_texts
from etlsite.templatetags.labels import run_status_label
from pipelines.transformations.base import LineageEdge


@pytest.mark.parametrize(("language", "expected"), [("en", "public"), ("ru", "публичный")])
def test_sensitivity(language, expected):
    with translation.override(language):
        assert labels.sensitivity_label("public") == expected
        assert labels.sensitivity_label("PUBLIC") == expected
        assert labels.sensitivity_label("custom") == "custom"


def test_run_status_and_lineage_in_russian():
    with translation.override("ru"):
        assert run_status_label("success") == "Успешно"
        assert labels.lineage_type_label("extract") == "извлечение"
        assert labels.lineage_logic_label("copy") == "копирование"
        assert labels.lineage_logic_label("cast to integer") == "приведение к типу integer"
        assert labels.lineage_logic_label("left join on product_id = products.product_id") == (
            "левое соединение по условию product_id = products.product_id")
        assert labels.lineage_logic_label("amount * 2") == "amount * 2"  # an expression is code


def test_every_lineage_type_a_step_records_has_words():
    import inspect

    from pipelines import transformations

    source = "".join(inspect.getsource(module) for module in (
        transformations.cast, transformations.derive, transformations.enrich_product_data,
        transformations.fill_nulls, transformations.rename, transformations.trim))
    recorded = {word for word in labels.LINEAGE_TYPE_LABELS if f'"{word}"' in source}
    assert {"cast", "derive", "lookup", "fill_nulls", "rename", "trim"} <= recorded
    assert LineageEdge(("a",), "b", "rename", "a -> b").transformation_type in labels.LINEAGE_TYPE_LABELS


def test_pii_evidence_is_worded_from_its_kind():
    finding = pii_detect(["anna@example.com", "boris@example.org", "vera@example.net"])
    evidence = finding.evidence()
    with translation.override("ru"):
        html = Template("{% load labels %}{{ e.kind|pii_kind_label }}: {{ e|pii_pattern_label }}").render(
            Context({"e": evidence}))
    assert html == "Адрес электронной почты: имя@домен.зона"


def test_recommendations_are_stored_as_codes_and_worded_for_the_reader():
    item = recommendation("drift_added", columns=["email", "phone"])
    assert item == {"code": "drift_added", "params": {"columns": ["email", "phone"]}}
    with translation.override("en"):
        english = recommendation_text(item)
    with translation.override("ru"):
        russian = recommendation_text(item)
    assert "Describe the new columns email, phone" in english
    assert "email, phone" in russian and "Describe" not in russian
    assert recommendation_texts(["an old plain text", item])[0] == "an old plain text"


def test_a_quality_recommendation_formats_its_numbers_in_the_readers_language():
    check = {"code": "quality_check", "params": {
        "table": "sales", "metric": "null_rate", "column": "amount", "value": 0.125, "threshold_min": None,
        "threshold_max": 0.05, "severity": "error", "learned": False, "baseline": None, "history_size": 0}}
    with translation.override("en"):
        assert "empty in 12.5% of rows (allowed at most 5%)" in recommendation_text(check)
    with translation.override("ru"):
        text = recommendation_text(check)
    assert "12,5%" in text and "amount" in text and "Column" not in text
