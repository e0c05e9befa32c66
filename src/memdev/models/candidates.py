"""The candidates one cross-validation fold fits, and how they are saved.

``memae``
    the MemAE reconstruction error (every regime; the only one without labels);
``devnet``
    the DevNet head on the frozen MemAE (``full`` and ``weak``);
``gbm``
    a gradient-boosted classifier on the features alone, the strongest simple
    model, so the pipeline is never worse than it on CV;
``catboost``
    CatBoost's classifier on the features alone: symmetric trees, each level
    split on one condition, a booster unlike ``gbm``'s that fitted cardio's
    small sets better;
``stack``
    ``gbm``'s classifier on the features plus the MemAE's latent code and
    reconstruction error;
``blend``
    the rank average of ``devnet``, ``stack``, ``gbm`` and ``catboost``
    (:data:`memdev.models.ranks.BLEND_PARTS`; fitted by none: made from their scores);
``iforest``
    scikit-learn's IsolationForest on the fold's training rows not labeled
    anomalous (every regime: it needs no labels);
``lof``
    LocalOutlierFactor in novelty mode (20 neighbours) on the same rows, at
    most :data:`LOF_ROWS` of them drawn at random (fewer past a million rows,
    :data:`LOF_PAIRS`): each row it scores costs a search of all it holds.

In the weak regime ``devnet``, ``gbm``, ``catboost`` and ``stack`` leave out of their training rows the
unlabeled rows most likely anomalous (:func:`trusted`).

Ensembles of these are made from their scores by :mod:`memdev.training.selection`
(:func:`memdev.models.ranks.rank_mix` applies the weights it chose).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import keras
import numpy as np
from catboost import CatBoostClassifier
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor
from xgboost import XGBClassifier

from memdev import atomic, manifest
from memdev.config import Config
from memdev.models.devnet import head_inputs
from memdev.models.memae import SCORE_BATCH, MemAEDetector, as_stacked
from memdev.models.ranks import BLEND_PARTS
from memdev.models.stacked import VIEWS, StackedMemAE
from memdev.paths import Paths

# the catboost candidate's training rows and labeled anomalies up to which its 300 trees at 0.1 hold, and
# past them its trees × training rows at most TREE_ROWS (1,000 trees to 300,000 rows)
SMALL_ROWS, MANY_ANOMALIES, TREE_ROWS = 50_000, 1_000, 300_000_000
# labeled anomalies up to which its 300 trees learn at 0.03, not 0.1: a few labels among zeros that hide
# unlabeled anomalies are ranked better by a model that fits them less (BENCHMARKS-notes.md, "seventeenth session")
FEW_ANOMALIES = 50
# past WIDE columns a booster's cost is every column's bins at every node, whatever the rows: so there
# each column is cut into WIDE_BINS bins, not 256 (BENCHMARKS-notes.md, "Wide competitions")
WIDE, WIDE_BINS = 200, 32
PICKLED = ("gbm", "catboost", "stack", "iforest", "lof")  # the candidates saved as pickles
LABEL_FREE = ("memae", "iforest", "lof")  # the candidates that need no labels
FIXED = ("gbm", "catboost", "iforest", "lof")  # no tuned parameter changes them: tuning fits them once per fold
SUPERVISED = ("devnet", "gbm", "catboost", "stack")  # fitted on labels: in the weak regime only on :func:`trusted` rows
LOF_ROWS = 10_000
# LOF's neighbour search costs (rows it holds) x (rows it scores): past 1,000,000 rows it holds fewer,
# so 5,000,000 rows cost no more than 1,000,000 (2,000 held)
LOF_PAIRS = 10_000_000_000
# the share of the unlabeled rows the weak regime's supervised candidates leave out: on weak versions
# of the fully labeled sets, with 2% to 30% anomalies, it raised gbm's hidden-label AP (BENCHMARKS-notes.md)
DOUBTED = 0.1


def boosted(seed: int, columns: int) -> XGBClassifier:
    """The gradient-boosted classifier of ``gbm`` and ``stack`` for ``columns`` columns: histogram trees
    grown leaf by leaf.

    Fit and predict it under ``threadpool_limits(config.threads.boosting,
    "openmp")``: OpenMP threads spin at every barrier, and on a shared 2-core
    machine two of them made a fit slower than one, not faster (BENCHMARKS-notes.md).
    """
    # XGBoost, not scikit-learn's HistGradientBoosting (whose every split Python steers): the same kind of
    # trees at its settings in 40% of the time, nested CV as good (BENCHMARKS-notes.md). Not carried over:
    # its 10 rows to a leaf (XGBoost has no such bound) and its early stopping past 10,000 rows (on the
    # weak regime's 2-3 held-out anomalies it stopped at noise)
    # L2 and small trees: with a few labeled anomalies (weak regime) the defaults fit them too closely;
    # min_child_weight is HistGradientBoosting's least hessian to split (XGBoost's default 1 needs
    # hundreds of rows to a leaf where anomalies are rare, and lost CV on thyroid and cardio)
    return XGBClassifier(n_estimators=200, learning_rate=0.05, max_leaves=15, grow_policy="lossguide", max_depth=0,
                         min_child_weight=1e-3, reg_lambda=1.0, tree_method="hist", random_state=seed,
                         max_bin=WIDE_BINS if columns > WIDE else 256)


def symmetric(seed: int, threads: int, rows: int, anomalies: int, columns: int) -> CatBoostClassifier:
    """The ``catboost`` candidate's classifier for ``rows`` training rows of ``columns`` columns holding
    ``anomalies`` labeled anomalies, on ``threads`` threads (0: one per core; CatBoost's own pool, which
    ``threadpool_limits`` does not reach).

    300 symmetric trees at learning rate 0.1 (0.03 with :data:`FEW_ANOMALIES` or fewer); past
    :data:`SMALL_ROWS` rows holding :data:`MANY_ANOMALIES` labeled anomalies or more, CatBoost's defaults (1,000 trees, the learning rate CatBoost sets from the
    rows), with fewer trees past :data:`TREE_ROWS` trees × rows, down to 300.
    """
    # 300 trees at 0.1, not its 1,000 at a rate fitted to the rows: as good on the halves of cardio and
    # bank-marketing in a third of the time. On 240,000 synthetic rows they underfit where 4,840 anomalies
    # were labeled (AP 0.698 against the defaults' 0.761), and where 24 were, the defaults fitted them too
    # closely (hidden-label AP 0.070 against 300 trees' 0.092): BENCHMARKS-notes.md
    if rows > SMALL_ROWS and anomalies >= MANY_ANOMALIES:
        size = dict(iterations=int(np.clip(TREE_ROWS // rows, 300, 1000)))
    else:
        size = dict(iterations=300, learning_rate=0.03 if anomalies <= FEW_ANOMALIES else 0.1)
    return CatBoostClassifier(**size, random_seed=seed, thread_count=threads or -1, verbose=0,
                              allow_writing_files=False, border_count=WIDE_BINS if columns > WIDE else 254)


def stack_inputs(X: np.ndarray, parts: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(X), parts["latent"], parts["error"]], axis=1)


def scored_views(names: list[str]) -> tuple[str, ...]:
    """The MemAE outputs that scoring ``names`` needs besides the DevNet head's inputs."""
    return ("latent", "error") if "stack" in names else ("error",)


def network_outputs(stacked: StackedMemAE, heads: list[keras.Model] | None, X: np.ndarray,
                    row_sets: list[np.ndarray], views: tuple[str, ...], inputs: list[str] | None = None
                    ) -> list[dict[str, np.ndarray]]:
    """Member k's MemAE ``views`` of ``X[row_sets[k]]`` and, given ``heads``, its DevNet score (``"devnet"``).

    One stacked pass for every member: Keras's per-model ``predict`` traced a
    graph per fold model and call (0.15 s each on the demo, 1.5 s of a
    2.4 s scoring). ``heads``: member k's DevNet model, whose head
    (``devnet_head``) is applied to the ``inputs`` it was trained on.
    """
    needed = tuple(view for view in VIEWS if view in views or (heads and view in inputs))
    parts = stacked.features(X, row_sets, needed, SCORE_BATCH)
    for k, (part, rows) in enumerate(zip(parts, row_sets)):
        if heads:
            head = heads[k].get_layer("devnet_head")
            score = np.empty(len(rows), dtype=np.float32)
            for i in range(0, len(rows), SCORE_BATCH):
                block = {view: part[view][i:i + SCORE_BATCH] for view in needed}
                joined = head_inputs(block, X, inputs, rows[i:i + SCORE_BATCH])
                score[i:i + SCORE_BATCH] = keras.ops.convert_to_numpy(head(joined, training=False))[:, 0]
            part["devnet"] = score
        for view in set(needed) - set(views):
            del part[view]
    return parts


def detectors(seed: int) -> tuple[IsolationForest, LocalOutlierFactor]:
    return (IsolationForest(n_estimators=200, random_state=seed),
            LocalOutlierFactor(n_neighbors=20, novelty=True))


def fit_fixed(name: str, seed: int, X: np.ndarray, y: np.ndarray, rows: np.ndarray, threads: int = 1):
    """A :data:`FIXED` candidate fitted on ``X[rows]`` (``y``: every row's label; the detectors take the
    rows not labeled anomalous); ``threads``: CatBoost's."""
    if name == "gbm":
        return boosted(seed, X.shape[1]).fit(X[rows], y[rows])
    if name == "catboost":
        return symmetric(seed, threads, len(rows), int(y[rows].sum()), X.shape[1]).fit(X[rows], y[rows])
    models = FoldModels(memae=None)
    models.fit_detectors(seed, X, normal_rows(y[rows], rows, len(X)), [name])
    return getattr(models, name)


def trusted(config: Config, X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Which rows the :data:`SUPERVISED` candidates may fit on; None: every row.

    In the weak regime an unlabeled row may be an anomaly nobody labeled, and
    a model fitted on it as normal learns to rank its like low. So there the
    unlabeled rows IsolationForest ranks highest (the top :data:`DOUBTED` of
    them) are left out, as likely positives are in learning from positive and
    unlabeled rows. Needs no label of the held-out rows, so one mask serves
    every fold.
    """
    if config.regime != "weak":
        return None
    unlabeled = normal_rows(y, None, len(X))
    scores = -detectors(config.seed)[0].fit(X[unlabeled]).score_samples(X[unlabeled])
    kept = np.ones(len(X), dtype=bool)
    kept[unlabeled[np.argsort(-scores, kind="stable")[:int(DOUBTED * len(unlabeled))]]] = False
    return kept


def trusted_rows(rows: np.ndarray, kept: np.ndarray | None) -> np.ndarray:
    """Of the training ``rows``, those a supervised candidate fits on (``kept``: :func:`trusted`'s mask)."""
    return rows if kept is None else rows[kept[rows]]


def fixed_scores(name: str, model, X: np.ndarray) -> np.ndarray:
    """A :data:`FIXED` candidate's scores of the rows ``X``, higher = more anomalous."""
    if name in ("gbm", "catboost"):
        return model.predict_proba(X)[:, 1]
    return -model.score_samples(X)  # score_samples: higher = more normal


def fitted_by(names: list[str]) -> list[str]:
    """The candidates among ``names`` a fold fits itself (``blend`` is made from others' scores)."""
    parts = {"blend": list(BLEND_PARTS)}
    out = []
    for name in names:
        for part in parts.get(name, [name]):
            if part not in out:
                out.append(part)
    return out


def normal_rows(y: np.ndarray, rows: np.ndarray | None, n: int) -> np.ndarray:
    """Of ``rows`` (all ``n`` rows by default), those whose label ``y`` is not 1."""
    rows = np.arange(n) if rows is None else np.asarray(rows)
    return rows[np.asarray(y) == 0]


@dataclass
class FoldModels:
    """What one fold fitted; ``score`` applies it to any rows."""

    memae: MemAEDetector
    devnet: keras.Model | None = None
    gbm: XGBClassifier | None = None
    catboost: CatBoostClassifier | None = None
    stack: XGBClassifier | None = None
    iforest: IsolationForest | None = None
    lof: LocalOutlierFactor | None = None

    def fit_detectors(self, seed: int, X: np.ndarray, normal: np.ndarray, names: list[str]) -> None:
        """IsolationForest and LOF (those of ``names``) on the rows ``normal`` of ``X``; LOF on a random
        sample of them, smaller the more rows ``X`` has (:data:`LOF_PAIRS`)."""
        iforest, lof = detectors(seed)
        if "iforest" in names:
            self.iforest = iforest.fit(X[normal])
        if "lof" in names:
            held = min(LOF_ROWS, LOF_PAIRS // len(X))
            if len(normal) > held:
                normal = np.sort(np.random.default_rng(seed).choice(normal, held, replace=False))
            self.lof = lof.fit(X[normal])

    def score(self, X: np.ndarray, names: list[str], rows: np.ndarray | None = None,
              inputs: list[str] | None = None, outputs: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Scores of ``X[rows]`` (all rows by default); ``inputs``: the DevNet head's (``config.head.inputs``).

        ``outputs``: this fold's :func:`network_outputs` of these rows, where
        every fold's were computed at once.
        """
        if outputs is None:
            heads = [self.devnet] if "devnet" in names else None
            every = np.arange(len(X)) if rows is None else np.asarray(rows)
            outputs = network_outputs(as_stacked([self.memae]), heads, X, [every], scored_views(names), inputs)[0]
        out = {"memae": outputs["error"][:, 0]}
        if "devnet" in names:
            out["devnet"] = outputs["devnet"]
        chosen = X if rows is None else X[rows]
        if "stack" in names:
            out["stack"] = self.stack.predict_proba(stack_inputs(chosen, outputs))[:, 1]
        for name in FIXED:
            if name in names:
                out[name] = fixed_scores(name, getattr(self, name), chosen)
        return out

    def save(self, paths: Paths, fold: int) -> list:
        """Write what this fold fitted; return the files written (for the manifest)."""
        written = []
        if self.devnet is not None:
            with atomic.atomic_path(paths.head(fold)) as tmp:
                self.devnet.save(tmp)
            written.append(paths.head(fold))
        for name in PICKLED:
            model = getattr(self, name)
            if model is not None:
                atomic.write_bytes(paths.boosted(name, fold), pickle.dumps(model))
                written.append(paths.boosted(name, fold))
        return written

    @classmethod
    def load(cls, paths: Paths, fold: int, config: Config, names: list[str]) -> "FoldModels":
        """The fold's MemAE and, of ``names``, whatever else was saved for it (each checked against the manifest)."""
        manifest.verify(paths, [paths.memae(fold)] + ([paths.head(fold)] if "devnet" in names else []))
        models = cls(MemAEDetector.load(paths.memae(fold), config.memae, config.seed + fold))
        if "devnet" in names:
            models.devnet = keras.models.load_model(paths.head(fold), compile=False, safe_mode=True)
        for name in set(PICKLED) & set(names):
            setattr(models, name, manifest.load_pickle(paths, paths.boosted(name, fold)))
        return models
