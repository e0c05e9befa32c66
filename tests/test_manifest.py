"""The manifest: nothing is loaded (least of all unpickled) unless memdev wrote those bytes."""

import pickle
import shutil

import pytest

from conftest import memdev
from memdev import atomic, manifest
from memdev.errors import MemdevError
from memdev.paths import Paths


def test_a_recorded_pickle_loads_and_a_tampered_one_is_refused(tmp_path):
    paths = Paths("c", tmp_path)
    path = paths.features / "transformer.pkl"
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps({"fitted": True}))
    manifest.record(paths, [path])
    assert manifest.load_pickle(paths, path) == {"fitted": True}
    path.write_bytes(pickle.dumps({"fitted": "by someone else"}))
    with pytest.raises(MemdevError, match="transformer.pkl: its sha256 is not the one memdev recorded"):
        manifest.load_pickle(paths, path)


def test_an_unrecorded_or_missing_file_is_refused(tmp_path):
    paths = Paths("c", tmp_path)
    paths.comp.mkdir(parents=True)
    stray = paths.comp / "stray.pkl"
    stray.write_bytes(pickle.dumps(1))
    with pytest.raises(MemdevError, match="not the one memdev recorded"):
        manifest.verify(paths, [stray])
    with pytest.raises(MemdevError, match="missing; run the stage that makes it"):
        manifest.verify(paths, [paths.comp / "absent.npy"])


def test_a_stale_or_corrupted_model_or_score_file_is_refused_by_the_stages_that_load_it(trained):
    """Fold 1's MemAE copied over fold 0's (a stale file) or cut short (a corrupted one): finetune refuses;
    submit refuses test scores cut short."""
    from memdev import config as config_io
    from memdev.models.candidates import FoldModels

    for path in (trained.memae(0), trained.head(0)):
        assert manifest.digest(trained, path) == atomic.sha256(path)
    kept = trained.root / "kept.keras"
    shutil.copy(trained.memae(0), kept)
    shutil.copy(trained.memae(1), trained.memae(0))
    result = memdev(trained.root, "finetune", "--comp", "tiny")
    assert result.returncode == 2 and "fold0/memae.keras: its sha256 is not the one memdev recorded" in result.stderr
    trained.memae(0).write_bytes(kept.read_bytes()[:-100])
    result = memdev(trained.root, "finetune", "--comp", "tiny")
    assert result.returncode == 2 and "fold0/memae.keras: its sha256 is not the one memdev recorded" in result.stderr
    scores = trained.test_scores.read_bytes()
    trained.test_scores.write_bytes(scores[:-100])
    result = memdev(trained.root, "submit", "--comp", "tiny")
    assert result.returncode == 2 and "test_scores.parquet: its sha256 is not the one memdev recorded" in result.stderr
    trained.test_scores.write_bytes(scores)
    shutil.copy(kept, trained.memae(0))
    shutil.copy(trained.head(1), trained.head(0))
    with pytest.raises(MemdevError, match="fold0/devnet.keras: its sha256 is not the one memdev recorded"):
        FoldModels.load(trained, 0, config_io.load(trained.config), ["devnet"])
