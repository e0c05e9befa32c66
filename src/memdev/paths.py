"""Every file a stage reads or writes, named in one place.

The Makefile names the same files for its dependency chain; keep the two in
step (``make help`` lists them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The three tables of a Kaggle competition; each is shipped as CSV or Parquet.
TABLES = ("train", "test", "sample_submission")


@dataclass(frozen=True)
class Paths:
    """The files of competition ``slug`` below the project ``root``."""

    slug: str
    root: Path = Path(".")

    @property
    def comp(self) -> Path:
        return self.root / "data" / self.slug

    # data stage
    @property
    def raw(self) -> Path:
        return self.comp / "raw"

    def table(self, name: str) -> Path:
        """Table ``name`` (one of TABLES) as shipped: ``raw/<name>.parquet`` if there is one, else ``raw/<name>.csv``.

        A missing table is called by its CSV name. The Makefile picks the same file.
        """
        parquet = self.raw / f"{name}.parquet"
        return parquet if parquet.exists() else self.raw / f"{name}.csv"

    @property
    def train_file(self) -> Path:
        return self.table("train")

    @property
    def test_file(self) -> Path:
        return self.table("test")

    @property
    def sample_file(self) -> Path:
        return self.table("sample_submission")

    # the CSV names: where the demo and `memdev synth` write their tables
    @property
    def train_csv(self) -> Path:
        return self.raw / "train.csv"

    @property
    def test_csv(self) -> Path:
        return self.raw / "test.csv"

    @property
    def sample_csv(self) -> Path:
        return self.raw / "sample_submission.csv"

    @property
    def config(self) -> Path:
        return self.comp / "config.yaml"

    @property
    def demo_solution(self) -> Path:
        """The demo's hidden labels: for `memdev score`, never read by the pipeline."""
        return self.comp / "solution.csv"

    @property
    def solution(self) -> Path:
        """A synthetic competition's hidden labels, named as in ../shared/competitions."""
        return self.comp / f"{self.slug}.solution.csv"

    # preprocess stage
    @property
    def features(self) -> Path:
        return self.comp / "features"

    @property
    def transformer(self) -> Path:
        return self.features / "transformer.pkl"

    @property
    def x_train(self) -> Path:
        return self.features / "X_train.npy"

    @property
    def x_test(self) -> Path:
        return self.features / "X_test.npy"

    @property
    def y_train(self) -> Path:
        return self.features / "y_train.npy"

    @property
    def features_info(self) -> Path:
        """Columns, sizes, and the stamp: what the features were made from."""
        return self.features / "features.json"

    @property
    def test_ids(self) -> Path:
        return self.features / "test_ids.parquet"

    @property
    def manifest(self) -> Path:
        """sha256 of every artifact the pipeline wrote, checked before loading."""
        return self.comp / "manifest.json"

    # pretrain and finetune stages
    @property
    def models(self) -> Path:
        return self.comp / "models"

    def fold_dir(self, fold: int) -> Path:
        return self.models / f"fold{fold}"

    def memae(self, fold: int) -> Path:
        """A fold's MemAE; its encoder, frozen, is also the DevNet head's (no separate file)."""
        return self.fold_dir(fold) / "memae.keras"

    def head(self, fold: int) -> Path:
        return self.fold_dir(fold) / "devnet.keras"

    def boosted(self, name: str, fold: int) -> Path:
        """A fold's pickled candidate: ``gbm``, ``catboost``, ``stack``, ``iforest`` or ``lof``."""
        return self.fold_dir(fold) / f"{name}.pkl"

    @property
    def folds(self) -> Path:
        return self.models / "folds.npy"

    @property
    def pretrained(self) -> Path:
        """Stamp of the pretrain stage (Make target): written by pretrain, checked by ``training.stamps``."""
        return self.models / "pretrain.json"

    @property
    def oof(self) -> Path:
        return self.models / "oof.parquet"

    @property
    def test_scores(self) -> Path:
        return self.models / "test_scores.parquet"

    @property
    def test_fold_scores(self) -> Path:
        """Each fold model's own scores of the test rows (label competitions: the F1 cut's vote)."""
        return self.models / "test_fold_scores.npz"

    @property
    def cv(self) -> Path:
        """CV metrics, chosen model and threshold: the finetune stage's stamp."""
        return self.models / "cv.json"

    # tune stage
    @property
    def study_db(self) -> Path:
        return self.comp / "study.db"

    @property
    def best_params(self) -> Path:
        return self.comp / "best_params.yaml"

    # reports
    @property
    def reports(self) -> Path:
        return self.comp / "reports"

    # submit stage
    @property
    def submissions(self) -> Path:
        return self.root / "submissions" / self.slug

    @property
    def ledger(self) -> Path:
        return self.root / "submissions" / "ledger.csv"


def submission_slug(file: str | Path) -> str | None:
    """The competition whose submission ``file`` is, where it lies in ``submissions/<slug>/``; else None."""
    file = Path(file)
    return file.parent.name if file.parent.parent.name == "submissions" else None
