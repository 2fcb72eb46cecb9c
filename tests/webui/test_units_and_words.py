"""Sizes and the write mode in the viewer's language (issue 16): "445 B" was English on Russian pages, and the
Russian run page said "Режим записи append"."""

import json
import re

import pytest
from django.urls import reverse
from django.utils import translation

from etlsite.formatting import format_bytes
from tests.factories import PipelineRunFactory

NB = "\xa0"


@pytest.mark.parametrize(("language", "size", "text"), [
    ("en", 445, f"445{NB}B"), ("ru", 445, f"445{NB}Б"), ("en", 2048, f"2{NB}KB"), ("ru", 1536, f"1,5{NB}КБ"),
    ("ru", 5 * 1024 ** 2, f"5{NB}МБ"), ("en", 3.5 * 1024 ** 3, f"3.5{NB}GB"), ("ru", 3 * 1024 ** 3, f"3{NB}ГБ"),
    ("en", None, "\u2014"),
])
def test_sizes_have_units_in_the_viewers_language(language, size, text):
    with translation.override(language):
        assert format_bytes(size) == text


def _run_with_write(mode, **write):
    return PipelineRunFactory(execution_context={
        "rows_read": 3, "rows_loaded": 3, "rows_quarantined": 0, "write": {"mode": mode, **write}})


@pytest.mark.django_db(databases=["default", "staging"])
@pytest.mark.parametrize(("language", "mode", "write", "words"), [
    ("ru", "append", {}, "Режим записи «добавление»: строки добавлены в таблицу."),
    ("en", "append", {}, "Write mode append: the rows were added to the table."),
    ("ru", "replace", {"rows_replaced": 2}, "Режим записи «замена»"),
    ("ru", "merge", {"rows_replaced": 1, "merge_key": ["id"]}, "Режим записи «слияние» по ключу id"),
])
def test_the_write_mode_is_in_the_viewers_language(admin_client, language, mode, write, words):
    run = _run_with_write(mode, **write)
    text = admin_client.get(reverse("webui:run-detail", args=[run.pk]), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    [line] = re.findall(r'<p class="write-mode">(.*?)</p>', text, flags=re.S)
    assert words in line
    if language == "ru":
        assert not re.search(r"append|replace|merge", line)


@pytest.mark.django_db(databases=["default", "staging"])
@pytest.mark.parametrize(("language", "units"), [("ru", ["Б", "КБ", "МБ", "ГБ"]), ("en", ["B", "KB", "MB", "GB"])])
def test_the_upload_page_sizes_files_with_the_same_units(admin_client, settings, language, units):
    settings.ETL_UPLOAD_MAX_BYTES = 200 * 1024 ** 2
    text = admin_client.get(reverse("webui:upload"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    data = re.search(r'<script id="upload-byte-units" type="application/json">(.*?)</script>', text).group(1)
    assert [unit.replace("%(size)s ", "") for unit in json.loads(data)][:4] == units
    assert f"200{NB}{units[2]}" in text  # the limit, said the same way
