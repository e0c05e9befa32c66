"""The manifest: nothing is loaded (least of all unpickled) unless memdev wrote those bytes."""

import pickle

import pytest

from memdev import manifest
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
