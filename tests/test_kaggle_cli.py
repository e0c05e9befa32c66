"""The kaggle CLI wrapper, against a stub `kaggle` on PATH that records its arguments."""

import os
import stat

import pytest

from memdev import kaggle_cli
from memdev.errors import MemdevError

STUB = """#!/bin/sh
printf '%s\\n' "$*" >> "$KAGGLE_STUB_LOG"
if [ -n "$KAGGLE_STUB_FAIL" ]; then echo "403 - Forbidden: $KAGGLE_STUB_FAIL" >&2; exit 1; fi
if [ "$2" = "submissions" ]; then
  echo "fileName,date,description,status,publicScore,privateScore"
  echo "a.csv,2026-11-22 10:00:00,first,complete,0.81234,"
  echo "b.csv,2026-11-22 11:00:00,second,pending,None,"
fi
"""


@pytest.fixture
def stub_kaggle(tmp_path, monkeypatch):
    """A fake kaggle executable, credentials in a private kaggle.json, and its call log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "kaggle"
    exe.write_text(STUB)
    exe.chmod(0o755)
    home = tmp_path / "home"
    (home / ".kaggle").mkdir(parents=True)
    token = home / ".kaggle" / "kaggle.json"
    token.write_text('{"username": "someone", "key": "s3cr3t-key"}')
    token.chmod(0o600)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KAGGLE_STUB_LOG", str(log))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    return log


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
