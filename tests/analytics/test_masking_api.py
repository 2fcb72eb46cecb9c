"""analytics.masking is the one masking API: no other module of the project spells the mask or defines its
own masking helpers (they call analytics.masking), and its helpers for pages and API mask as they did."""

from __future__ import annotations

import ast

from analytics.masking import EVERYTHING, MASK, mask_reason, mask_rows, mask_value, masked_staged_records
from tests.analytics.test_sql_lives_in_analytics import ROOT, _modules

# Masking of values (not of secrets in configurations: sources.secrets.mask_config is that, and stays).
OWN_HELPERS = {"mask_value", "mask_rows", "mask_reason", "mask_records", "mask_tuples", "hidden_columns",
               "masked_staged_records", "masked_quarantined", "columns_to_mask", "mask_for_user"}


def test_no_module_outside_analytics_masks_values_its_own_way():
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in OWN_HELPERS:
                offenders.append(f"{path.relative_to(ROOT)}: def {node.name}")
            if isinstance(node, ast.Constant) and node.value == MASK:
                offenders.append(f"{path.relative_to(ROOT)}: the mask spelled out")
    assert not offenders, offenders


def test_values_rows_and_reasons():
    hidden = {"email"}
    assert mask_value("a@b.c", "email", hidden) == MASK and mask_value(None, "email", hidden) is None
    assert mask_value("x", "name", hidden) == "x"
    assert mask_rows(["email", "n"], [("a@b.c", 1), (None, 2)], hidden) == [[MASK, 1], [None, 2]]
    assert mask_reason('not an e-mail: "a@b"', "a@b", "email", hidden) == f'not an e-mail: "{MASK}"'
    assert mask_reason('not a number: "x"', "x", "n", hidden) == 'not a number: "x"'


def test_staged_records_fail_closed_but_keep_the_row_number(monkeypatch):
    monkeypatch.setattr("analytics.masking.RunMasker.hidden", lambda self, **kwargs: EVERYTHING)
    records = [{"_row_number": 1, "email": "a@b.c", "n": 5}]
    assert masked_staged_records(None, records, table_name="stg", target_table="t", keep=["_row_number"]) == [
        {"_row_number": 1, "email": MASK, "n": MASK}]
