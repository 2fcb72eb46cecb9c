import multiprocessing
from pathlib import Path

from etlsite.env import secret_key


def test_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    monkeypatch.delenv("DJANGO_SECRET_KEY_FILE", raising=False)
    first = secret_key(tmp_path)
    assert len(first) >= 50
    assert secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_environment_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "from-env")
    assert secret_key(tmp_path) == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_file_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    (tmp_path / "k").write_text("from-file\n")
    monkeypatch.setenv("DJANGO_SECRET_KEY_FILE", str(tmp_path / "k"))
    assert secret_key(tmp_path) == "from-file"


def _read_key(var_dir: str) -> str:
    return secret_key(Path(var_dir))


def test_processes_starting_together_on_a_fresh_var_dir_share_one_key(tmp_path, monkeypatch):
    # Two workers started at once on a fresh var/ used to race: the loser's exclusive create failed and
    # the process died at import.
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    monkeypatch.delenv("DJANGO_SECRET_KEY_FILE", raising=False)
    with multiprocessing.get_context("fork").Pool(8) as pool:
        keys = pool.map(_read_key, [str(tmp_path)] * 32)
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no drafts left behind
