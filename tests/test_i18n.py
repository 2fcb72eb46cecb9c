"""Russian and English ship: the Russian catalogue is complete and compiled, and the admin speaks both.

The catalogues live in locale/<lang>/LC_MESSAGES/django.po; after changing user-visible strings run
`make messages` (makemessages + compilemessages) and translate what it adds to the ru catalogue.
"""

from __future__ import annotations

import ast
import gettext
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext

from tests.factories import DataSourceFactory

ROOT = Path(settings.BASE_DIR)
LOCALE_DIR = ROOT / "locale"
RU_PO = LOCALE_DIR / "ru" / "LC_MESSAGES" / "django.po"
PO_FILES = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))
RU_PLURAL_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"
)
SET_LANGUAGE = "/i18n/setlang/"
SWITCH = 'class="language-switch"'


# --- a minimal .po reader (polib is not a dependency) ----------------------------------------------
@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # singular entries use index 0
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    line: int = 0


def read_po(path: Path) -> list[Entry]:
    """Every entry of a .po file, the header (msgid "") included."""
    entries: list[Entry] = []
    entry: Entry | None = None
    key: tuple[str, int] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, key = None, None
            continue
        if line.startswith("#~"):
            if entry is None:
                entry = Entry(obsolete=True, line=number)
                entries.append(entry)
            entry.obsolete = True
            continue
        if line.startswith("#"):
            if entry is None or key is not None:
                entry, key = Entry(line=number), None
                entries.append(entry)
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if entry is None:
            entry = Entry(line=number)
            entries.append(entry)
        if line.startswith('"'):
            assert key is not None, f"{path}:{number}: a string continues nothing"
            _append(entry, key, ast.literal_eval(line))
            continue
        keyword, _, value = line.partition(" ")
        if keyword.startswith("msgstr["):
            key = ("msgstr", int(keyword[7:-1]))
        elif keyword in ("msgid", "msgid_plural", "msgctxt", "msgstr"):
            key = (keyword, 0)
        else:
            raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
        if key[0] == "msgstr":
            entry.msgstr[key[1]] = ""
        else:
            setattr(entry, key[0], "")
        _append(entry, key, ast.literal_eval(value))
    return entries


def _append(entry: Entry, key: tuple[str, int], text: str) -> None:
    name, index = key
    if name == "msgstr":
        entry.msgstr[index] += text
    else:
        setattr(entry, name, getattr(entry, name) + text)


def live_entries(path: Path) -> list[Entry]:
    return [e for e in read_po(path) if e.msgid and not e.obsolete]


def header(path: Path) -> dict[str, str]:
    head = next(e for e in read_po(path) if e.msgid == "" and not e.obsolete)
    return dict(line.split(": ", 1) for line in head.msgstr[0].splitlines() if ": " in line)


def msg_key(entry: Entry) -> tuple[str | None, str, str | None]:
    return entry.msgctxt, entry.msgid, entry.msgid_plural


# --- (a) the catalogues -------------------------------------------------------------------------------
def test_the_ru_catalogue_has_no_untranslated_entries():
    entries = live_entries(RU_PO)
    assert entries, "the ru catalogue is empty: run `make messages`"
    untranslated = [
        f"line {e.line}: {e.msgid!r}" for e in entries
        if not e.msgstr or not all(e.msgstr.values())
    ]
    assert not untranslated, "untranslated in locale/ru:\n" + "\n".join(untranslated)


def test_the_ru_catalogue_has_no_fuzzy_entries():
    fuzzy = [f"line {e.line}: {e.msgid!r}" for e in read_po(RU_PO) if "fuzzy" in e.flags and not e.obsolete]
    assert not fuzzy, "fuzzy (unchecked) in locale/ru:\n" + "\n".join(fuzzy)


def test_the_ru_catalogue_uses_the_three_russian_plural_forms():
    assert header(RU_PO)["Plural-Forms"] == RU_PLURAL_FORMS
    assert header(RU_PO)["Language"] == "ru"
    wrong = [f"line {e.line}: {e.msgid!r}" for e in live_entries(RU_PO)
             if e.msgid_plural is not None and sorted(e.msgstr) != [0, 1, 2]]
    assert not wrong, "plural entries need msgstr[0], msgstr[1] and msgstr[2]:\n" + "\n".join(wrong)


def test_every_language_has_a_catalogue():
    assert {path.parts[-3] for path in PO_FILES} >= {code for code, _ in settings.LANGUAGES}


@pytest.mark.parametrize("po", PO_FILES, ids=lambda p: p.parts[-3])
def test_every_catalogue_is_compiled_and_up_to_date(po):
    """The committed .mo holds exactly the .po's translations (a fresh machine needs no gettext).

    Compared by content, not by mtime: git does not keep modification times, so after a checkout the .mo
    may look older than its .po although both are current.
    """
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `make messages`"
    expected: dict = {}
    for entry in live_entries(po):
        if "fuzzy" in entry.flags:
            continue  # msgfmt leaves fuzzy entries out
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            if entry.msgstr.get(0):
                expected[msgid] = entry.msgstr[0]
        elif all(entry.msgstr.values()):
            expected.update({(msgid, index): text for index, text in entry.msgstr.items()})
    with mo.open("rb") as fh:
        compiled = dict(gettext.GNUTranslations(fh)._catalog)
    compiled.pop("", None)  # the header
    assert compiled == expected, f"{mo} is out of date: run `make messages`"


# The same command as `make messages` (Makefile), run on a copy of the project so the real catalogue is not touched.
MAKEMESSAGES = ["manage.py", "makemessages", "-l", "ru", "--ignore", ".venv/*", "--ignore", "var/*",
                "--ignore", "tests/*"]
NOT_COPIED_AT_TOP = {"var", "staticfiles", "test-results"}


def _copy_filter(directory: str, names: list[str]) -> set[str]:
    top = Path(directory).resolve() == ROOT.resolve()
    return {name for name in names
            if name.startswith(".") or name == "__pycache__" or (top and name in NOT_COPIED_AT_TOP)}


@pytest.mark.skipif(shutil.which("xgettext") is None or shutil.which("msgmerge") is None,
                    reason="needs GNU gettext (xgettext, msgmerge)")
def test_the_ru_catalogue_covers_every_string_in_the_code(tmp_path):
    """`make messages` would add nothing: every translatable string of the code is in the ru catalogue, and
    the catalogue holds no string the code no longer uses."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=_copy_filter)
    # A probe string only the copy holds: proves makemessages scanned the copy and wrote the copy's catalogue.
    probe = "i18n completeness probe (only in the test's copy)"
    (copy / "etlsite" / "i18n_probe.py").write_text(
        f"from django.utils.translation import gettext as _\n\n_({probe!r})\n", encoding="utf-8")
    before = RU_PO.read_bytes()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "etlsite.settings", "ETL_VAR_DIR": str(tmp_path / "var"),
           "ETL_ENV_FILE": str(tmp_path / "no.env"), "DJANGO_SECRET_KEY": "makemessages-only"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run([sys.executable, *MAKEMESSAGES], cwd=copy, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert RU_PO.read_bytes() == before, "makemessages wrote to the real catalogue instead of the copy"

    fresh = read_po(copy / "locale" / "ru" / "LC_MESSAGES" / "django.po")
    in_code = {msg_key(e) for e in fresh if e.msgid and not e.obsolete}
    assert (None, probe, None) in in_code, "makemessages did not update the copy's catalogue"
    in_code.discard((None, probe, None))
    committed = {msg_key(e) for e in live_entries(RU_PO)}
    assert in_code, "makemessages found no strings in the copy"
    missing = sorted(repr(key[1]) for key in in_code - committed)
    stale = sorted(repr(key[1]) for key in committed - in_code)
    assert not missing, "strings of the code missing from locale/ru (run `make messages`):\n" + "\n".join(missing)
    assert not stale, "strings of locale/ru the code no longer uses (run `make messages`):\n" + "\n".join(stale)
    fuzzy = [repr(e.msgid) for e in fresh if "fuzzy" in e.flags and not e.obsolete and e.msgid != probe]
    assert not fuzzy, "makemessages would mark these fuzzy (run `make messages`):\n" + "\n".join(fuzzy)


def test_russian_plurals_follow_the_number():
    with translation.override("ru"):
        forms = {n: ngettext("%(count)d pipeline", "%(count)d pipelines", n) % {"count": n}
                 for n in (1, 2, 5, 11, 21, 22, 25)}
    assert forms == {1: "1 конвейер", 2: "2 конвейера", 5: "5 конвейеров", 11: "11 конвейеров",
                     21: "21 конвейер", 22: "22 конвейера", 25: "25 конвейеров"}


# --- (b) the admin in either language -----------------------------------------------------------------
RUSSIAN = ["ETL-система", "Администрирование", "Источники данных", "Конвейеры", 'aria-label="Язык"', '<html lang="ru"']
ENGLISH = ["ETL system", "Administration", "Data sources", "Pipelines", 'aria-label="Language"', '<html lang="en"']


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "expected", "foreign"), [("ru", RUSSIAN, ENGLISH), ("en", ENGLISH, RUSSIAN)])
def test_the_admin_index_speaks_the_browser_language(admin_client, language, expected, foreign):
    response = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    for text in expected:
        assert text in response.text
    for text in foreign:
        assert text not in response.text


@pytest.mark.django_db
def test_the_data_source_list_in_russian(admin_client):
    DataSourceFactory(name="Sales CSV file")
    response = admin_client.get(reverse("admin:sources_datasource_changelist"), HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 200
    text = response.text
    assert "Выберите источник данных для изменения" in text  # Django's title with our verbose_name
    assert "Источники данных" in text  # verbose_name_plural (breadcrumbs)
    for label in ("Название", "Тип источника", "Параметры подключения", "Конвейеры"):  # column headers
        assert label in text
    assert "Файл" in text  # the source type's display value
    assert "0 конвейеров" in text  # the pipelines link, plural form 2
    assert "Удалить выбранные источники данных (мягкое удаление)" in text
    assert "Восстановить выбранные источники данных" in text
    assert "Sales CSV file" in text  # data stay as they are


@pytest.mark.django_db
def test_the_data_source_list_in_english(admin_client):
    DataSourceFactory(name="Sales CSV file")
    response = admin_client.get(reverse("admin:sources_datasource_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    text = response.text
    assert "Select data source to change" in text
    for label in ("Data sources", "Name", "Source type", "Connection configuration", "0 pipelines",
                  "Soft-delete selected data sources", "Restore selected data sources"):
        assert label in text
    assert "Источники данных" not in text


# --- (c) the language switch ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_choosing_russian_sets_the_cookie_and_the_next_page_is_russian(admin_client):
    response = admin_client.post(SET_LANGUAGE, {"language": "ru", "next": reverse("admin:index")})
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"

    page = admin_client.get(reverse("admin:index"))
    assert '<html lang="ru"' in page.text
    assert "ETL-система" in page.text
    # The cookie wins over the browser's preference.
    page = admin_client.get(reverse("admin:sources_datasource_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Выберите источник данных для изменения" in page.text


@pytest.mark.django_db
def test_choosing_english_again_switches_back(admin_client):
    admin_client.post(SET_LANGUAGE, {"language": "ru", "next": "/admin/"})
    response = admin_client.post(SET_LANGUAGE, {"language": "en", "next": "/admin/"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ru")
    assert "ETL system" in page.text
    assert "ETL-система" not in page.text


@pytest.mark.django_db
def test_the_switch_is_in_the_user_links_once_and_marks_the_current_language(admin_client):
    response = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ru")
    text = response.text
    assert text.count(SWITCH) == 1
    switch = text[text.index(SWITCH):]
    switch = switch[:switch.index("</nav>")]
    # links, not a form: the header holds no submit button
    assert "<form" not in switch and "<button" not in switch
    assert '<span class="language-current" lang="ru" aria-current="true">Русский</span>' in switch
    assert '<a href="/language/en/?next=/admin/" lang="en" hreflang="en">English</a>' in switch
    # in the user tools, after Django's own links
    assert text.index('id="user-tools"') < text.index(SWITCH)
    assert text.index('id="logout-form"') < text.index(SWITCH)


@pytest.mark.django_db
def test_the_switch_link_sets_the_cookie_and_returns_to_the_page(admin_client):
    response = admin_client.get("/language/ru/", {"next": "/admin/sources/datasource/?q=a"})
    assert response.status_code == 302
    assert response.url == "/admin/sources/datasource/?q=a"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    page = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en")
    assert "ETL-система" in page.text


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "admin/", ""])
def test_the_switch_link_never_sends_elsewhere(client, target):
    response = client.get("/language/ru/", {"next": target})
    assert (response.status_code, response.url) == (302, "/")


@pytest.mark.django_db
def test_another_site_cannot_change_the_language(client):
    response = client.get("/language/ru/", {"next": "/admin/login/"}, HTTP_SEC_FETCH_SITE="cross-site")
    assert (response.status_code, response.url) == (302, "/admin/login/")
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    response = client.get("/language/ru/", {"next": "/admin/login/"}, HTTP_SEC_FETCH_SITE="same-origin")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"


@pytest.mark.django_db
def test_an_unknown_language_is_not_found(client):
    assert client.get("/language/xx/").status_code == 404


# --- (d) the login page -----------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(("language", "other", "name"), [("en", "ru", "Русский"), ("ru", "en", "English")])
def test_the_login_page_shows_the_language_switch_after_no_button(client, language, other, name):
    response = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    text = response.text
    assert text.count(SWITCH) == 1
    assert f'href="/language/{other}/?next=/admin/login/"' in text
    assert f'>{name}</a>' in text
    assert text.index('id="branding"') < text.index(SWITCH)
    # the first submit button of the page is the login form's (an automated login presses it)
    login_form = text.index('id="login-form"')
    assert text.index('type="submit"') > login_form
    assert text.index("<form") == text.rindex("<form", 0, login_form + 1)


@pytest.mark.django_db
def test_switching_on_the_login_page_returns_to_it_in_russian(client):
    login = reverse("admin:login") + "?next=/admin/"
    response = client.get("/language/ru/", {"next": login})
    assert response.status_code == 302
    assert response.url == login
    page = client.get(login)
    assert '<html lang="ru"' in page.text
    assert "ETL-система" in page.text
    assert 'aria-label="Язык"' in page.text
