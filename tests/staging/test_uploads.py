import hashlib
import io

import pytest

from staging.models import FileMetadata
from staging.uploads import file_register, safe_filename


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.parametrize("name,expected", [
    ("sales 2024.csv", "sales_2024.csv"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("отчёт.csv", "upload.csv"),
    ("", "upload"),
    ("a" * 300 + ".csv", "a" * 100 + ".csv"),
])
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


@pytest.mark.django_db(databases=["staging"])
def test_register_records_hash_size_type_and_encoding(media):
    content = "дата;сумма\n2024-01-01;1,5\n".encode("cp1251")
    registered = file_register(stream=io.BytesIO(content), original_filename="../продажи.csv", uploaded_by="anna")
    record = FileMetadata.objects.get(pk=registered.file.pk)
    assert record.file_hash == hashlib.sha256(content).hexdigest()
    assert record.file_size == len(content)
    assert record.mime_type == "text/csv"
    assert record.encoding.replace("_", "").lower() in {"cp1251", "windows1251"}
    assert record.status == "uploaded" and record.uploaded_by == "anna"
    assert record.original_filename == "../продажи.csv"
    stored = media / "uploads"
    assert record.file_path.startswith(str(stored)) and ".." not in record.file_path
    with open(record.file_path, "rb") as fh:
        assert fh.read() == content
    assert registered.duplicate_of is None


@pytest.mark.django_db(databases=["staging"])
def test_the_same_content_twice_is_recognised():
    first = file_register(stream=io.BytesIO(b"a,b\n1,2\n"), original_filename="x.csv")
    second = file_register(stream=io.BytesIO(b"a,b\n1,2\n"), original_filename="y.csv")
    assert second.duplicate_of.pk == first.file.pk
    assert second.file.metadata == {"duplicate_of": first.file.pk}
    other = file_register(stream=io.BytesIO(b"a,b\n1,3\n"), original_filename="x.csv")
    assert other.duplicate_of is None


@pytest.mark.django_db(databases=["staging"])
def test_too_large_is_refused_and_leaves_nothing(media):
    with pytest.raises(ValueError, match="larger than the limit of 1 MB"):
        file_register(stream=io.BytesIO(b"x" * (2 * 1024 * 1024)), original_filename="big.csv",
                      max_bytes=1024 * 1024)
    assert FileMetadata.objects.count() == 0
    assert not [p for p in (media / "uploads").rglob("*") if p.is_file()]
