"""The typed configuration of one competition.

``make data`` writes ``data/<slug>/config.yaml`` with the detected schema;
the user edits it; the package defaults below fill in everything else. Every
stage receives a :class:`Config`, never a global.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from memdev import atomic
from memdev.errors import MemdevError

log = logging.getLogger(__name__)

REGIMES = ("full", "weak", "novelty", "unsupervised")
KINDS = ("label", "score")
METRICS = ("f1", "average_precision", "roc_auc", "accuracy", "mcc", "balanced_accuracy")
LABEL_METRICS = ("f1", "accuracy", "mcc", "balanced_accuracy")  # of 0/1 labels; the others rank scores
# a metric of labels as a strategy: the cut where that metric is best out of fold
THRESHOLD_STRATEGIES = (*LABEL_METRICS, "pu", "quantile", "contamination", "max_normal")
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd", "adadelta", "adagrad", "nadam")
STACKING = ("auto", "on", "off")
# what to submit when no labels can choose: "auto" is training.labelfree's rule
LABEL_FREE = ("auto", "iforest", "lof", "memae", "lof+memae")
SCORERS = ("reconstruction", "latent_distance", "addressing_entropy", "devnet")
# what the DevNet head may see: the frozen MemAE's three outputs, and the features themselves
HEAD_INPUTS = ("latent", "readout", "error", "features")
# keys that change no model, so no digest: the scores `memdev scorers` compares, and
# the tuning space (a study's name hashes it, beside the rest of the config)
NOT_MODELLED = ("scorers", "search_space")


@dataclass
class MemAEConfig:
    """The memory-augmented autoencoder (Gong et al., 2019)."""

    hidden: list[int] = field(default_factory=lambda: [64])
    latent: int = 16
    memory_size: int = 50
    shrink: float = 1.0  # hard-shrinkage λ in units of 1/memory_size (paper: 1 to 3)
    entropy_weight: float = 0.0002  # α of the paper
    optimizer: str = "adam"
    learning_rate: float = 0.003
    epochs: int = 60
    # optimizer steps at most (0: no limit): on large data, fewer epochs than `epochs`
    max_steps: int = 1000
    batch_size: int = 512
    patience: int = 6
    validation_split: float = 0.1


@dataclass
class HeadConfig:
    """The DevNet scoring head (Pang et al., 2019) on the frozen encoder."""

    units: int = 20
    margin: float = 5.0
    optimizer: str = "adam"
    learning_rate: float = 0.001
    epochs: int = 30
    batch_size: int = 256
    steps_per_epoch: int = 20
    # what the head sees, any of "latent", "readout", "error", "features": the
    # features and the MemAE's error by default, the smallest set that keeps a
    # MemAE view within noise of the best (the head-input ablation in BENCHMARKS.md)
    inputs: list[str] = field(default_factory=lambda: ["features", "error"])


@dataclass
class ThresholdConfig:
    """How scores become 0/1 labels for ``label`` competitions."""

    # empty: the competition's metric of labels (or "f1") with labels, "pu" with a few (weak regime), "quantile" without
    strategy: str = ""
    quantile: float = 0.95  # quantile of out-of-fold normal scores
    contamination: float = 0.1  # expected anomaly rate of the test set
    margin: float = 0.1  # relative margin over the max normal score


@dataclass
class ThreadsConfig:
    """CPU threads of a stage's process; 0: the library's default (one per core)."""

    # TensorFlow's ops in `make train` and `make submit`
    tensorflow: int = 0
    # TensorFlow's ops in each `make tune` worker. Several workers on one
    # machine: 1 (a plain graph step of this model's size used 1.5-1.8x the
    # CPU on 2 threads as on 1); one worker on a busy machine loses wall time
    # on 1 thread (a bank-marketing epoch at load 9: 0.92 s against 0.53 s)
    tuning: int = 0
    # threads of the boosters (XGBoost's and CatBoost's) and of LOF's neighbour search: OpenMP's
    # spin at every barrier, and on a shared 2-core machine 2 threads made a fit slower than 1
    boosting: int = 1
    # folds whose fixed candidates and stacks (gbm, catboost, stack, iforest, lof) are fitted
    # at once, each on `boosting` threads: they spend most of their time
    # outside the GIL, so a second core finishes them nearly twice as fast
    folds: int = 0


@dataclass
class Config:
    """Everything a stage needs to know about one competition."""

    slug: str
    id_column: str
    target_column: str | None
    submission: str  # "label" or "score"
    regime: str
    metric: str
    seed: int = 0
    folds: int = 5
    # a target of two other levels as 0/1, e.g. {"fraud": 1, "legit": 0}: `make data` writes it (the rarer level 1)
    label_map: dict[str, int] | None = None
    # "auto": the gradient-boosted candidates (gbm, catboost, stack, blend) compete on CV
    stacking: str = "auto"
    # without labels to choose by (no labels, or fewer than 2 labeled anomalies): "auto" or one of LABEL_FREE
    label_free: str = "auto"
    memae: MemAEConfig = field(default_factory=MemAEConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
    threads: ThreadsConfig = field(default_factory=ThreadsConfig)
    # overrides of the tuning search space, see memdev.tune
    search_space: dict[str, Any] = field(default_factory=dict)
    # a column of train.csv naming each row's group (a class, a source) for the
    # per-group report; never a feature, since it may encode the label
    group_column: str | None = None
    # the scores `memdev scorers` compares, any of SCORERS
    scorers: list[str] = field(default_factory=lambda: list(SCORERS))
    # a train.csv above this many MiB is read, fitted and transformed in chunks
    # (bounded memory); the transformer then sees at most fit_rows random rows
    chunked_from_mb: int = 256
    fit_rows: int = 1_000_000

    def __post_init__(self) -> None:
        if isinstance(self.stacking, bool):  # YAML reads a bare on / off as true / false
            self.stacking = "on" if self.stacking else "off"
        checks = [
            ("submission", self.submission, KINDS),
            ("regime", self.regime, REGIMES),
            ("metric", self.metric, METRICS),
            ("stacking", self.stacking, STACKING),
            ("label_free", self.label_free, LABEL_FREE),
            ("memae.optimizer", self.memae.optimizer, OPTIMIZERS),
            ("head.optimizer", self.head.optimizer, OPTIMIZERS),
        ]
        if self.threshold.strategy:
            checks.append(("threshold.strategy", self.threshold.strategy, THRESHOLD_STRATEGIES))
        for key, value, allowed in checks:
            if value not in allowed:
                raise MemdevError(f"config: {key} is {value!r}; expected one of {', '.join(allowed)}")
        if self.regime in ("full", "weak") and not self.target_column:
            raise MemdevError(f"config: regime {self.regime!r} needs a target column, and there is none")
        for name, value in dataclasses.asdict(self.threads).items():
            if not isinstance(value, int) or value < 0:
                raise MemdevError(f"config: threads.{name} is {value!r}; expected a whole number >= 0 (0: one per core)")
        if self.folds < 2:
            raise MemdevError(f"config: folds is {self.folds}; cross-validation needs at least 2")
        if not self.head.inputs:
            raise MemdevError(f"config: head.inputs is empty; list any of {', '.join(HEAD_INPUTS)}")
        for name in self.head.inputs:
            if name not in HEAD_INPUTS:
                raise MemdevError(f"config: head.inputs has {name!r}; expected any of {', '.join(HEAD_INPUTS)}")
        for name in self.scorers:
            if name not in SCORERS:
                raise MemdevError(f"config: scorers has {name!r}; expected any of {', '.join(SCORERS)}")
        if self.group_column is not None and self.group_column in (self.id_column, self.target_column):
            raise MemdevError(f"config: group_column {self.group_column!r} is the id or target column")

    @property
    def labeled(self) -> bool:
        return self.regime in ("full", "weak")

    @property
    def clash(self) -> str:
        """Why ``submission`` does not suit ``metric``, in one line; empty where it does.

        ``make data`` takes the kind from the sample submission's placeholders,
        and a sample of zeros is common on a ranking metric's page too.
        """
        if self.submission == "label" and self.metric not in LABEL_METRICS:
            return (f"submission is label but metric {self.metric} ranks scores: the CSV gets 0/1 labels, which rank "
                    "every row in two ties and score below the CV shown (of scores); set submission: score in the "
                    "config unless the competition's page asks for labels")
        if self.submission == "score" and self.metric in LABEL_METRICS:
            return (f"submission is score but metric {self.metric} counts 0/1 labels: the CSV gets scores, no cut; "
                    "set submission: label in the config unless the competition's page asks for scores")
        return ""

    @property
    def threshold_strategy(self) -> str:
        # fully labeled: the cut where the competition's own metric is best (balanced accuracy's is far below F1's);
        # the weak regime's unlabeled rows hide anomalies, which a metric of its labels would count as normal
        best = self.metric if self.metric in LABEL_METRICS else "f1"
        default = {"full": best, "weak": "pu"}.get(self.regime, "quantile")
        return self.threshold.strategy or default

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """A short hash of everything that changes a model (all but :data:`NOT_MODELLED`)."""
        settings = {key: value for key, value in self.to_dict().items() if key not in NOT_MODELLED}
        # the default strategy and the strategy it resolves to build the same models (tuning's trial 0 names it)
        settings["threshold"]["strategy"] = self.threshold_strategy
        text = json.dumps(settings, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> "Config":
        return _build(cls, data, source)

    def value(self, dotted: str) -> Any:
        """The value of a dotted key (``memae.memory_size``); ``threshold.strategy`` as it resolves."""
        if dotted == "threshold.strategy":
            return self.threshold_strategy
        section, _, key = dotted.rpartition(".")
        return getattr(getattr(self, section) if section else self, key)

    def with_params(self, params: dict[str, Any]) -> "Config":
        """A copy with dotted keys (``memae.memory_size``) replaced."""
        data = self.to_dict()
        for dotted, value in params.items():
            section, _, key = dotted.rpartition(".")
            target = data[section] if section else data
            if key not in target:
                raise MemdevError(f"unknown parameter {dotted!r}")
            target[key] = value
        return Config.from_dict(data)


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise MemdevError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise MemdevError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(fields)}")
    kwargs = {}
    for name, value in data.items():
        sub = {"memae": MemAEConfig, "head": HeadConfig, "threshold": ThresholdConfig, "threads": ThreadsConfig}.get(name)
        kwargs[name] = _build(sub, value, f"{where}: {name}") if sub and cls is Config else value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise MemdevError(f"{where}: {exc}") from None


def load(path: str | Path, params: str | Path | None = None) -> Config:
    """Read a competition's config file, then apply tuned parameters if given."""
    path = Path(path)
    if not path.exists():
        raise MemdevError(f"{path}: no config; run `make data COMP={path.parent.name}` first")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MemdevError(f"{path}: not valid YAML ({exc})") from None
    config = Config.from_dict(data, str(path))
    if params:
        config = config.with_params(tuned_params(load_tuned(params), config, params))
    return config


def tuned_params(tuned: dict[str, Any], config: Config, source: str | Path = "best_params.yaml") -> dict[str, Any]:
    """The parameters of ``tuned`` (a :func:`load_tuned` record) that apply to ``config``.

    A tuned key whose value the config has changed since ``make tune`` keeps the config's value, and a line
    says so: the edit is the user's latest word, and a tuned value silently winning over it would make the
    edit do nothing.
    """
    params, before = tuned.get("params", {}), tuned.get("config", {})  # records of older memdevs hold no "config"
    edited = [key for key in params if key in before and config.value(key) != before[key]]
    if edited:
        log.warning(f"{Path(source).name}: {', '.join(edited)} edited in the config since `make tune`: the config's "
                    f"value{'s' if len(edited) > 1 else ''} used, not the tuned; `make tune` tunes the edited config")
    return {key: value for key, value in params.items() if key not in edited}


def save(config: Config, path: str | Path) -> None:
    header = (
        "# memdev competition config: detected by `make data`, yours to edit.\n"
        "# Keys left out take the package defaults; see README.md for each key.\n"
    )
    atomic.write_text(path, header + yaml.safe_dump(config.to_dict(), sort_keys=False))


def load_tuned(path: str | Path) -> dict[str, Any]:
    """What ``make tune`` recorded in ``best_params.yaml``: study, trial, value, metric and params ({} if none)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MemdevError(f"{path}: not valid YAML ({exc}); delete it to go back to the config's values") from None


def save_tuned(path: str | Path, record: dict[str, Any]) -> None:
    atomic.write_text(path, yaml.safe_dump(record, sort_keys=False, allow_unicode=True, width=1000))
