"""The kaggle CLI wrapper, against a stub `kaggle` on PATH that records its arguments."""

import pytest

from memdev.errors import MemdevError
from memdev.ingest import kaggle_cli


def test_submit_passes_slug_file_and_message(stub_kaggle, tmp_path):
    kaggle_cli.submit("demo", tmp_path / "x.csv", "CV 0.9")
    assert stub_kaggle.read_text().strip() == f"competitions submit demo -f {tmp_path / 'x.csv'} -m CV 0.9"


def test_a_failing_cli_gives_one_clear_error_without_the_key(stub_kaggle, monkeypatch):
    monkeypatch.setenv("KAGGLE_STUB_FAIL", "rules not accepted")
    with pytest.raises(MemdevError, match="rules not accepted") as info:
        kaggle_cli.submissions("demo")
    assert "s3cr3t" not in str(info.value)


def test_world_readable_credentials_are_refused(stub_kaggle, tmp_path):
    token = tmp_path / "home" / ".kaggle" / "kaggle.json"
    token.chmod(0o644)
    with pytest.raises(MemdevError, match="chmod 600"):
        kaggle_cli.submit("demo", tmp_path / "x.csv", "m")
    assert not stub_kaggle.exists()


def test_missing_credentials_say_what_to_set(stub_kaggle, tmp_path):
    (tmp_path / "home" / ".kaggle" / "kaggle.json").unlink()
    with pytest.raises(MemdevError, match="KAGGLE_USERNAME and KAGGLE_KEY"):
        kaggle_cli.submissions("demo")


def test_missing_cli_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MemdevError, match="pip install kaggle"):
        kaggle_cli.executable()
