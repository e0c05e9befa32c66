"""A competition shipped as Parquet gives, byte for byte, the submission its CSV original gives.

Every practice competition in ../shared/competitions, cut to a few thousand rows
byte for byte, is unpacked from a zip of its CSV tables as Kaggle ships them, and
from a zip of the same tables converted to Parquet (in a temporary folder, never
in the repository), then preprocessed, trained with a fast config and submitted.
A submission is CSV either way.
"""

import io
import zipfile
from pathlib import Path, PurePosixPath

import keras
import numpy as np
import pandas as pd
import pytest

from conftest import SHARED_COMPETITIONS
from memdev import config as config_io
from memdev import runtime
from memdev.features import preprocess
from memdev.ingest import fetch
from memdev.paths import Paths
from memdev.submission import submit
from memdev.training import finetune, pretrain

pytestmark = pytest.mark.slow

SLUGS = sorted(path.stem for path in SHARED_COMPETITIONS.glob("*.zip")) or ["(none)"]
# a few seconds per competition: the test is about the input format, not the model
FAST = {"folds": 2, "stacking": "off", "memae.epochs": 2, "head.epochs": 2, "head.steps_per_epoch": 3}


# rows kept of each table: the first ROWS, and in train.csv the first RARE of its rarer target level too, so
# each competition is detected in the regime its whole train.csv is (more than 50 labeled anomalies: full)
ROWS, RARE = 2000, 100


def cut_copy(source: Path, target: Path) -> Path:
    """A zip of ``source``'s tables cut to the rows above, each kept line as it was written."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        label = pd.read_csv(archive.open("sample_submission.csv"), nrows=0).columns[1]
        for info in archive.infolist():
            header, *lines = archive.read(info).splitlines(keepends=True)
            keep = set(range(min(ROWS, len(lines))))
            if info.filename == "train.csv":
                train = pd.read_csv(archive.open(info))
                levels = train[label].value_counts() if label in train.columns else pd.Series()
                if len(levels) > 1:
                    keep |= set(np.flatnonzero(train[label].to_numpy() == levels.index[-1])[:RARE])
            out.writestr(info.filename, header + b"".join(lines[i] for i in sorted(keep)))
    return target


def parquet_copy(source: Path, target: Path) -> Path:
    """A zip of ``source``'s tables as Parquet: pandas reads each CSV, pyarrow writes it."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for info in archive.infolist():
            buffer = io.BytesIO()
            pd.read_csv(archive.open(info)).to_parquet(buffer, index=False)
            out.writestr(PurePosixPath(info.filename).with_suffix(".parquet").name, buffer.getvalue())
    return target


def submission(root: Path, slug: str, archive: Path) -> tuple[Paths, bytes]:
    """``make data train submit`` in process, with the fast config; the tables it read and the CSV's bytes."""
    paths = Paths(slug, root)
    fetch.fetch(paths, str(archive))
    config = config_io.load(paths.config).with_params(FAST)
    runtime.seed_everything(config.seed)
    for stage in (preprocess.run, pretrain.run, finetune.run):
        stage(config, paths)
    path, _ = submit.run(config, paths)
    keras.backend.clear_session()
    return paths, path.read_bytes()


@pytest.mark.parametrize("slug", SLUGS)
def test_a_parquet_copy_gives_the_same_submission_bytes(tmp_path, shared_competitions, slug):
    (tmp_path / "cut").mkdir()
    original = cut_copy(shared_competitions / f"{slug}.zip", tmp_path / "cut" / f"{slug}.zip")
    csv, expected = submission(tmp_path / "csv", slug, original)
    parquet, actual = submission(tmp_path / "parquet", slug, parquet_copy(original, tmp_path / f"{slug}.zip"))
    assert [p.suffix for p in (csv.train_file, csv.test_file, csv.sample_file)] == [".csv"] * 3
    assert [p.suffix for p in (parquet.train_file, parquet.test_file, parquet.sample_file)] == [".parquet"] * 3
    assert actual == expected
    assert parquet.config.read_text() == csv.config.read_text()  # the same schema detected
