"""Encodings are detected with evidence, never guessed into mojibake.

A new user's cp1252 files loaded as "Josķ", "Mßlaga", "Z³rich" and "trčs" (detected as cp775, cp1250 or
cp1006) with the run reported a success; a UTF-8 file with one Latin-1 byte became "cafﻠ". The expected
text here is the text the files were written from, compared value for value after a real read.
"""

import csv
import io
import random

import pytest

from sources.connectors.filesupport.detection import guess_encoding
from tests.sources.file_helpers import error_of, read, rows_of

FIRST = ["José", "María", "Ángel", "Iñigo", "Jürgen", "Günter", "Björn", "Hélène", "François", "Zoë", "Søren",
         "Åsa", "Þór", "Ærøskøbing", "Noël", "Mañuel", "Renée", "Agnès", "Cécile", "Jérôme"]
CITIES = ["Málaga", "Córdoba", "León", "Logroño", "Zürich", "München", "Köln", "Düsseldorf", "Besançon",
          "Genève", "Orléans", "São Paulo", "Bogotá", "Reykjavík", "Tromsø", "Göteborg", "Ærø", "Curaçao"]
NOTES = ["très bien", "à revoir", "crème brûlée", "déjà vu", "naïve", "Straße", "weiß", "smörgåsbord",
         "piñata", "façade", "coöperate", "résumé", "€ 12,50", "— none —", "½ price", "“quoted”"]


def western_rows(count=300, seed=3):
    rng = random.Random(seed)
    return [[str(i), rng.choice(FIRST), rng.choice(CITIES), rng.choice(NOTES)] for i in range(1, count + 1)]


def write_csv(path, rows, encoding):
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([["id", "name", "city", "note"], *rows])
    path.write_bytes(text.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_a_western_european_single_byte_file_loads_with_its_accents_intact(tmp_path, encoding):
    rows = western_rows()
    if encoding == "latin-1":  # Latin-1 has no €, dashes or curly quotes: keep the rows it can hold
        rows = [row for row in rows if all(ch.encode("latin-1", "ignore").decode("latin-1") == ch for ch in row[3])]
    path = write_csv(tmp_path / "people.csv", rows, encoding)
    connector, batches = read({"file_path": str(path)})
    assert rows_of(batches) == rows  # all 300 (or every Latin-1 one), value for value
    info = connector.describe()["files"][0]
    assert info["encoding"] == "cp1252" and info["encoding_detection"] == "detected"


@pytest.mark.parametrize(("text", "encoding"), [
    ("id,imie,miasto\n1,Łukasz,Łódź\n2,Józef,Kraków\n3,Żaneta,Gdańsk\n4,Michał,Wrocław\n", "cp1250"),
    ("id,jmeno,mesto\n1,Jiří,Plzeň\n2,Tomáš,České Budějovice\n3,Petr,Brno\n", "cp1250"),
    ("id,nom,note\n1,Hélène,très bien\n2,François,à revoir\n3,Zoë,garçon\n", "cp1252"),
    ("id,nombre\n1,José\n2,Iñigo\n3,Logroño\n", "cp1252"),
    ("имя,город\nИван,Москва\nПётр,Санкт-Петербург\n", "cp1251"),
    ("имя,город\nИван,Москва\nПётр,Санкт-Петербург\n", "koi8-r"),
])
def test_single_byte_code_pages_are_told_apart(text, encoding):
    guess = guess_encoding(text.encode(encoding))
    assert guess.encoding == encoding and guess.confident
    assert text.encode(encoding).decode(guess.encoding) == text


def test_an_undecidable_sample_is_marked_as_a_guess():
    # "Kèr" or "Kčr": the same bytes are letters in cp1252 and cp1250, and this sample says nothing more.
    guess = guess_encoding(b"a,b\nvo,1\nK\xe8r,2\n")
    assert guess.encoding == "cp1252" and guess.confident is False


@pytest.mark.parametrize(("text", "encoding", "expected"), [
    ("日本語のテキスト,値\n東京,1\n" * 20, "shift_jis", "cp932"),
    ("中文文本,值\n北京,1\n" * 20, "gb18030", "gb18030"),
])
def test_two_byte_asian_encodings_are_not_read_as_latin(text, encoding, expected):
    assert guess_encoding(text.encode(encoding)).encoding == expected


def test_a_broken_byte_in_a_utf8_file_is_an_error_naming_its_offset(tmp_path):
    good = "id,name\n1,Zoë\n2,Müller\n".encode()
    path = tmp_path / "mixed.csv"
    path.write_bytes(good + b"3,caf\xe9\n" + "4,Ærø\n".encode())
    error = error_of({"file_path": str(path)})
    assert error.permanent
    assert error.message == (f"{path} is UTF-8 text, but byte {len(good) + 5} is not valid UTF-8; correct the "
                             "file, or set encoding in the connection configuration if the file is in another "
                             "encoding.")
    # The user can still say what the file is.
    _, batches = read({"file_path": str(path), "encoding": "cp1252"})
    assert rows_of(batches)[2] == ["3", "caf\xe9"]


def test_a_json_file_with_a_broken_utf8_byte_is_refused_too(tmp_path):
    path = tmp_path / "mixed.json"
    path.write_bytes('[{"name": "Zoë"}, {"name": "caf'.encode() + b"\xe9" + b'"}]')
    assert "is not valid UTF-8" in error_of({"file_path": str(path), "format": "json"}).message


@pytest.mark.parametrize(("text", "encoding", "confident"), [
    # A short Western sample that charset-normalizer calls Croatian cp1250 ("Trčs"): "ç" and "ü" are not
    # letters of the cp1250 languages, so cp1252 wins, and says so with confidence.
    ("José;Málaga;François;Zürich;Renée;Très\n", "cp1252", True),
    ("name;note\nAgnès;crème brûlée\nJérôme;déjà vu\n", "cp1252", True),
    ("id,nombre\n1,José\n2,Iñigo\n3,Logroño\n", "cp1252", True),
    # "Švo, Kčr" is Czech; "Švo, Kèr" would be Finnish and French.
    ("a,b\nŠvo,1\nKčr,2\n", "cp1250", True),
    # "Jiøí, Plzeò, Èeské Budìjovice" needs Danish and Italian at once; "Jiří, Plzeň" is Czech.
    ("id,jmeno,mesto\n1,Jiří,Plzeň\n2,Tomáš,České Budějovice\n3,Petr,Brno\n", "cp1250", True),
    ("Příliš žluťoučký kůň úpěl ďábelské ódy\n", "cp1250", True),
    # Hungarian "ő" reads as Portuguese "õ" in cp1252 and nothing else tells them apart here: a guess, not a fact.
    ("id,nev,varos\n1,Győző,Győr\n2,Tünde,Pécs\n", None, False),
])
def test_the_letters_of_each_code_pages_languages_decide(text, encoding, confident):
    source = encoding or "cp1250"
    guess = guess_encoding(text.encode(source))
    assert guess.confident is confident
    if encoding:
        assert guess.encoding == encoding and text.encode(encoding).decode(guess.encoding) == text
