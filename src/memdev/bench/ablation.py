"""Ablations on nested CV: the DevNet head's inputs (``head.inputs``), and the candidate menu.

Cross-validation of train.csv only; test labels are never read. Every row of
one competition and seed uses the same folds and the same MemAE per fold.

* Head inputs: the ``devnet`` candidate alone with all four inputs, the
  features alone and with each MemAE view, and the three MemAE views without
  the features; its nested CV (the cut chosen without each
  fold, on the metrics that need one).
* Candidates: the nested CV of the selection with today's menu (memae,
  devnet, gbm, catboost, stack, blend), with IsolationForest and LOF added,
  with the rank ensemble added, and with the label-free scores as two more
  stack columns (``stack_lf``), and two smaller menus, beside each candidate
  alone, the blend with each of its parts left out, and the blend of the
  boosters alone (neither MemAE nor DevNet head).
  The out-of-fold scores are kept in ``oof.npz`` beside ``ablation.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memdev.bench.runs import edit_config, make, prepare
from memdev.config import HEAD_INPUTS
from memdev.models.ranks import BLEND_PARTS, blend

COMPETITIONS = ("thyroid", "mammography", "satellite", "bank-marketing-weak", "bank-marketing", "cardio")
HEAD_COMPETITIONS = ("thyroid", "mammography", "satellite", "bank-marketing-weak", "bank-marketing")
MEMAE_PARTS = ("devnet", "stack")  # the blend's parts that read the MemAE's views
BOOSTERS_BLEND = "blend - " + ", ".join(MEMAE_PARTS)  # the blend without them: the boosters' alone
TODAY = ("memae", "devnet", "gbm", "catboost", "stack", "blend")
MENUS = {  # name: (candidates, ensemble in the menu, the candidate kept unless clearly beaten)
    "A memae, devnet, gbm, catboost, stack, blend": (TODAY, False, None),
    "B A + iforest, lof": (TODAY + ("iforest", "lof"), False, None),
    "C B + ensemble": (TODAY + ("iforest", "lof"), True, None),
    "D C with stack_lf for stack": (("memae", "devnet", "gbm", "catboost", "stack_lf", "blend", "iforest", "lof"),
                                    True, None),
    "E gbm, stack, blend": (("gbm", "stack", "blend"), False, None),
    "F devnet, gbm, stack, blend": (("devnet", "gbm", "stack", "blend"), False, None),
    "G C, blend kept unless clearly beaten (the default)": (TODAY + ("iforest", "lof"), True, "blend"),
}

# {"latent,error": {slug: (nested CV, std over seeds)}}
Table = dict[str, dict[str, tuple[float, float]]]


def subsets() -> list[list[str]]:
    """All four inputs, the features alone and with each MemAE view, and the MemAE's views without the features."""
    views = [v for v in HEAD_INPUTS if v != "features"]
    return [list(HEAD_INPUTS), ["features"]] + [["features", v] for v in views] + [views]


def measure(slug: str, source: Path, root: Path, seed: int) -> dict[str, float]:
    """Nested CV of every head-input subset (head competitions) and every menu of :data:`MENUS` on ``slug``.

    Returns {row name: nested CV}; head rows are named by their inputs ("latent,error"),
    menus and single candidates by :data:`MENUS`' names and ``"fixed: <candidate>"``.
    A finished measurement is saved in ``root/ablation.json`` and read back instead of run again;
    the menus are measured again from the kept ``oof.npz``, so a change of the selection needs no training.
    """
    import json

    from threadpoolctl import threadpool_limits

    from memdev import atomic
    from memdev import config as config_io
    from memdev.paths import Paths

    done, kept = root / "ablation.json", root / "oof.npz"
    if done.exists():
        out = json.loads(done.read_text(encoding="utf-8"))
        if kept.exists():  # the menus again, by today's selection, from the kept scores: no training
            config = config_io.load(Paths(slug, root).config).with_params({"stacking": "auto"})
            scores = dict(np.load(kept))
            y, folds = scores.pop("y"), scores.pop("folds")
            head_rows = {",".join(subset) for subset in subsets()}
            out = {row: value for row, value in out.items() if row in head_rows} | menu_rows(config, y, folds, scores)
        return out

    from memdev.features import preprocess
    from memdev.training import folds as folds_io
    from memdev.training import pretrain

    prepare(slug, source, root)
    paths = Paths(slug, root)
    edit_config(paths.config, {"seed": seed})
    make(root, "preprocess", slug)
    config = config_io.load(paths.config)
    X, y, _ = preprocess.load_features(paths)
    folds = folds_io.assign(y, config)
    with threadpool_limits(limits=1):  # OpenMP boosters on a shared 2-core machine: one thread is faster
        memaes, stacked = pretrain.fit_memaes(config, X, y, folds)
        out = heads(config, X, y, folds, memaes, stacked) if slug in HEAD_COMPETITIONS else {}
        out.update(menus(config, X, y, folds, memaes, stacked, root))
    for name, value in out.items():
        print(f"  {slug} seed {seed} {name}: nested CV {config.metric} {value:.4f}", flush=True)
    atomic.write_text(done, json.dumps(out, indent=1))
    return out


def heads(config, X, y, folds, memaes, stacked) -> dict[str, float]:
    from memdev.models.candidates import network_outputs
    from memdev.models.devnet import fit_heads
    from memdev.training import selection

    train = [np.flatnonzero(folds != fold) for fold in range(len(memaes))]
    held_out = [np.flatnonzero(folds == fold) for fold in range(len(memaes))]
    out = {}
    for subset in subsets():
        trial = config.with_params({"head.inputs": subset})
        models, _ = fit_heads(memaes, X, train, [y[rows] for rows in train], trial.head, trial.seed, stacked)
        oof = np.zeros(len(y))
        for held, scored in zip(held_out, network_outputs(stacked, models, X, held_out, ("error",), subset)):
            oof[held] = scored["devnet"]
        out[",".join(subset)] = selection.nested(trial, y, folds, {"devnet": oof}).value
    return out


def menus(config, X, y, folds, memaes, stacked, root) -> dict[str, float]:
    from memdev.training import finetune

    config = config.with_params({"stacking": "auto"})
    result = finetune.cross_validate(config, X, y, folds, memaes, stacked=stacked)
    oof = dict(result.oof)
    oof["stack_lf"] = stack_lf(config, X, y, folds, memaes, result.folds)
    # kept so that a later menu or rule can be judged on these folds without training again
    np.savez_compressed(root / "oof.npz", y=y, folds=folds, **oof)
    return menu_rows(config, y, folds, oof)


def menu_rows(config, y, folds, oof: dict[str, np.ndarray]) -> dict[str, float]:
    """Every menu's nested CV, and each candidate's alone and each smaller blend's, from the out-of-fold scores."""
    from memdev.training import selection

    out = {name: selection.nested(config, y, folds, {n: oof[n] for n in names}, ensemble, prior).value
           for name, (names, ensemble, prior) in MENUS.items()}
    oof = oof | smaller_blends(oof)
    out.update({f"fixed: {name}": selection.nested(config, y, folds, {name: scores}).value for name, scores in oof.items()})
    return out


def smaller_blends(oof: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The blend with each part left out, and with the parts that use neither the MemAE nor the DevNet head:
    what each part, and the two together, add to the blend."""
    out = {f"blend - {left}": blend(*(oof[name] for name in BLEND_PARTS if name != left)) for left in BLEND_PARTS}
    out[BOOSTERS_BLEND] = blend(*(oof[name] for name in BLEND_PARTS if name not in MEMAE_PARTS))
    return out


def stack_lf(config, X, y, folds, memaes, fitted) -> np.ndarray:
    """Out-of-fold scores of the stack with the IsolationForest and LOF scores as two more columns.

    A training row's LOF score leaves the row itself out (``negative_outlier_factor_``) where LOF holds it.
    """
    from memdev.models.candidates import LOF_ROWS, boosted, normal_rows, stack_inputs

    oof = np.zeros(len(y))
    for fold, (memae, models) in enumerate(zip(memaes, fitted)):
        train, held = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)

        def columns(rows, in_fit=None):
            lof = -models.lof.score_samples(X[rows])
            if in_fit is not None:
                lof[in_fit[0]] = -models.lof.negative_outlier_factor_[in_fit[1]]
            detectors = np.c_[-models.iforest.score_samples(X[rows]), lof]
            return np.c_[stack_inputs(X[rows], memae.features(X, rows, ("latent", "error"))), detectors]

        normal = normal_rows(y[train], train, len(X))
        if len(normal) > LOF_ROWS:  # the rows LOF was fitted on, as FoldModels drew them
            normal = np.sort(np.random.default_rng(config.seed).choice(normal, LOF_ROWS, replace=False))
        position = {row: i for i, row in enumerate(normal)}
        mine = [(i, position[row]) for i, row in enumerate(train) if row in position]
        in_fit = (np.array([i for i, _ in mine]), np.array([j for _, j in mine]))
        inputs = columns(train, in_fit)
        model = boosted(config.seed, inputs.shape[1]).fit(inputs, y[train])
        oof[held] = model.predict_proba(columns(held))[:, 1]
    return oof


def add(table: Table, slug: str, measured: dict[str, list[float]]) -> None:
    """Put one competition's measurements (a value per seed) into ``table`` as a column."""
    for row, values in measured.items():
        table.setdefault(row, {})[slug] = (float(np.mean(values)), float(np.std(values)))


def means(table: Table) -> dict[str, float]:
    """Each row's mean over the competitions, best first."""
    mean = {inputs: float(np.mean([value for value, _ in row.values()])) for inputs, row in table.items()}
    return dict(sorted(mean.items(), key=lambda item: -item[1]))
