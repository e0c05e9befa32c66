"""Optuna tuning: trial 0, the objective, pruning, which trial best_params.yaml takes, and resumable studies
that a config edit replaces (kills and parallel workers: tests/scenarios/test_tuning_kills.py)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import optuna
import pytest
import yaml

from conftest import SRC, completed, fast_config, memdev
from memdev import config as config_io
from memdev.training import stamps
from memdev.tuning import searchspace, tune


def config_values(paths):
    """Trial 0's parameters: the config's own values of every tuned parameter."""
    config = config_io.load(paths.config)
    y = np.load(paths.y_train)
    return searchspace.config_params(config, searchspace.search_space(config, y))


def test_tuning_resumes_the_same_study_and_writes_the_winner(tiny):
    outs = []
    for _ in range(2):
        result = memdev(tiny.root, "tune", "--comp", "tiny", "--trials", "2")
        assert result.returncode == 0, result.stderr
        outs.append(result.stdout)
    study, done = completed(tiny)
    assert "tune: new study " in outs[0] and f"tune: resuming study {study.study_name} (2 trials so far)" in outs[1]
    assert [t.number for t in study.trials] == [0, 1, 2, 3]
    assert study.trials[0].params == config_values(tiny)  # trial 0 is the config's own values
    # a trial whose threshold caps it at or below the best so far is pruned before training, wherever it comes;
    # the median pruner never prunes the first 3 trials, the 4th only if, at the step it was pruned at, it was
    # below the median of the completed trials that reported there (step 1, the threshold's check, needs the
    # fixed candidates' scores that a process's first trial computes)
    for trial in study.trials:
        if trial.state == optuna.trial.TrialState.PRUNED and "ceiling" in trial.user_attrs:
            earlier = [t.value for t in done if t.number < trial.number]
            assert list(trial.intermediate_values) in ([], [1]) and trial.user_attrs["ceiling"] <= max(earlier)
        elif trial.number < 3:
            assert trial.state == optuna.trial.TrialState.COMPLETE
        else:
            assert trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
            if trial.state == optuna.trial.TrialState.PRUNED:
                step = max(trial.intermediate_values)
                there = [t.intermediate_values[step] for t in done if step in t.intermediate_values]
                assert there and trial.intermediate_values[step] < np.median(there)
    best = yaml.safe_load(tiny.best_params.read_text())
    assert best["trial"] == study.best_trial.number and "memae.memory_size" in best["params"]
    # the config's own values of the tuned keys: a later edit of one of them wins over its tuned value
    config = config_io.load(tiny.config)
    assert best["config"] == {key: config.value(key) for key in best["params"]}
    assert (tiny.reports / "tune_history.png").stat().st_size > 0


def test_where_no_cv_can_judge_a_trial_tuning_runs_none_says_why_and_succeeds(tiny):
    """A few labels (weak): the CV counts the unlabeled anomalies as normal; no labels: there is no CV."""
    data = yaml.safe_load(tiny.config.read_text())
    labeled = int(np.load(tiny.y_train).sum())
    for regime in ("weak", "full"):
        tiny.config.write_text(yaml.safe_dump({**data, "regime": regime}))
        assert memdev(tiny.root, "preprocess", "--comp", "tiny").returncode == 0  # the features record the regime
        result = memdev(tiny.root, "tune", "--comp", "tiny", "--trials", "1")
        assert result.returncode == 0, result.stderr
        said = f"tune: no trial run: regime weak: a trial's CV counts only the {labeled} labeled anomalies"
        assert (said in result.stdout) == (regime == "weak") == (not tiny.best_params.exists()), regime
    assert "regime unsupervised has none" in tune.untunable(fast_config(regime="unsupervised"), np.zeros(30))
    assert "regime full has 1" in tune.untunable(fast_config(), np.eye(1, 30)[0])


def test_a_trial_whose_threshold_caps_it_at_the_best_trial_or_below_is_pruned_before_anything_trains(monkeypatch):
    """A share of rows called caps the metric at what a perfect ranking gets under it (twice the prevalence: F1
    2/3 at best); no other candidate's scores need be at hand, and a trial whose cap is above the best trains."""
    config = fast_config(folds=3)
    y = (np.arange(90) % 10 == 0).astype(int)  # 3 anomalies in each fold of 30 rows
    folds = np.arange(90) % 3
    trained = []
    monkeypatch.setattr(tune.pretrain, "fit_memaes", lambda config, *args, **kwargs: trained.append(config) or ([], None))
    monkeypatch.setattr(tune.finetune, "cross_validate", fake_cross_validate(lambda c: c.memae.memory_size < 25))
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    space = searchspace.search_space(config, y)
    low, high = space["threshold.contamination"]["low"], space["threshold.contamination"]["high"]  # 0.05, 0.2
    for size, params in ((30, {"threshold.strategy": "f1"}),  # random scores
                         (20, {"threshold.strategy": "contamination", "threshold.contamination": low}),  # 2 of 3 a fold
                         (20, {"threshold.strategy": "contamination", "threshold.contamination": high}),
                         (20, {"threshold.strategy": "f1"})):
        study.enqueue_trial({"memae.memory_size": size, **params})
    study.optimize(tune.objective_factory(config, np.zeros((90, 2)), y, folds, space), n_trials=4)
    complete, pruned = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED
    assert [t.state for t in study.trials] == [complete, complete, pruned, complete]
    assert study.trials[0].value < 0.8 and study.trials[1].value == 0.8 and study.trials[3].value == 1.0
    assert study.trials[2].user_attrs["ceiling"] == 2 / 3 and len(trained) == 3  # the third trained nothing
    assert tune.trial_note(study, study.trials[2]) == "#2 pruned before training: its threshold caps it at 0.6667, best 1.0000 (#3)"


def test_a_lone_tuning_run_from_the_same_state_draws_the_same_trials(tiny):
    drawn = []
    for _ in range(2):
        for made in (tiny.study_db, tiny.best_params):
            made.unlink(missing_ok=True)
        shutil.rmtree(tiny.models, ignore_errors=True)
        result = memdev(tiny.root, "tune", "--comp", "tiny", "--trials", "3")
        assert result.returncode == 0, result.stderr
        study, _ = completed(tiny)
        drawn.append([t.params for t in study.trials])
    assert len(drawn[0]) == 3 and drawn[0] == drawn[1]
    assert drawn[0][1] != drawn[0][2]  # drawn, not repeated


def test_a_worker_sharing_its_study_seeds_its_sampler_with_its_process_id_too(tiny):
    config = config_io.load(tiny.config)
    study = optuna.create_study()
    study.enqueue_trial({})
    alone = tune.sampler_seed(config, study, None)
    assert alone == config.seed + 1  # the enqueued trial 0
    assert tune.sampler_seed(config, study, "sqlite:///shared.db") == alone + os.getpid()
    study.ask()  # trial 0 running, as another worker's would be
    assert tune.sampler_seed(config, study, None) == alone + os.getpid()


def without_tensorflow(tmp_path):
    """A PYTHONPATH on which TensorFlow and Keras cannot be imported."""
    for name in ("tensorflow", "keras"):
        (tmp_path / "blocked" / name).mkdir(parents=True)
        (tmp_path / "blocked" / name / "__init__.py").write_text(f"raise ImportError('{name} is blocked')")
    return {**os.environ, "PYTHONPATH": f"{tmp_path / 'blocked'}{os.pathsep}{SRC}"}


def test_after_make_train_trial_0_takes_its_cv_and_the_winners_models_are_left_for_submit(trained, tmp_path):
    cv = json.loads(trained.cv.read_text())["value"]
    result = memdev(trained.root, "tune", "--comp", "tiny", "--trials", "3")
    assert result.returncode == 0, result.stderr
    study, _ = completed(trained)
    # trial 0 is the config `make train` just built its models from: its CV, not trained again
    said = f"#0 {cv:.4f} (the config `make train` built its models from: their CV, untrained)"
    assert study.trials[0].value == cv and said in result.stdout + result.stderr
    # the winner's models are on disk as `make train` would leave them, newer than the parameters (make's view)
    config = config_io.load(trained.config, trained.best_params)
    stamps.check(config, trained, "submit")
    assert json.loads(trained.cv.read_text())["value"] == study.best_value
    assert min(trained.cv.stat().st_mtime, trained.pretrained.stat().st_mtime) >= trained.best_params.stat().st_mtime
    # submit mixes the stored test scores: no retraining, and no TensorFlow at all
    submitted = subprocess.run([sys.executable, "-m", "memdev", "submit", "--comp", "tiny", "--root", str(trained.root)],
                               capture_output=True, text=True, env=without_tensorflow(tmp_path))
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.strip().splitlines()[-1].endswith(f"f1-{study.best_value:.4f}.csv")


def test_tuning_after_make_train_takes_the_fold_models_no_tuned_parameter_changes_from_it(trained):
    from memdev.features import preprocess
    from memdev.models.candidates import fixed_scores
    from memdev.training import finetune
    from memdev.training import folds as folds_io

    config = config_io.load(trained.config)
    X, y, _ = preprocess.load_features(trained)
    folds = folds_io.assign(y, config)
    cache = finetune.reusable(config, trained, folds)
    fixed = [name for name in finetune.candidates(config, y) if name in ("gbm", "catboost", "iforest", "lof")]
    assert fixed and sorted(cache) == sorted((name, fold) for name in fixed for fold in range(folds_io.count(folds)))
    for (name, fold), (model, scores) in cache.items():  # what a trial would fit: the same scores
        fresh = finetune.fit_and_score(name, config.seed, X, y, np.flatnonzero(folds != fold), np.flatnonzero(folds == fold))
        np.testing.assert_array_equal(scores, fresh[1])
        np.testing.assert_array_equal(fixed_scores(name, model, X[:5]), fixed_scores(name, fresh[0], X[:5]))
    # models of another seed, or scored on other folds, are not taken
    reseeded = config.with_params({"seed": config.seed + 1})
    assert finetune.reusable(reseeded, trained, folds_io.assign(y, reseeded)) == {}
    assert finetune.reusable(config, trained, np.roll(folds, 1)) == {}


def edit(paths, changes):
    data = yaml.safe_load(paths.config.read_text())
    for section, values in changes.items():
        data[section] = {**data.get(section, {}), **values}
    paths.config.write_text(yaml.safe_dump(data))


def test_a_config_edit_starts_a_new_study_whose_trial_0_is_the_edited_config_and_says_why(tiny):
    first = memdev(tiny.root, "tune", "--comp", "tiny", "--trials", "1")
    assert first.returncode == 0, first.stderr
    edit(tiny, {"memae": {"epochs": 3}})  # not a tuned parameter: it still changes every trial's result
    second = memdev(tiny.root, "tune", "--comp", "tiny", "--trials", "1")
    assert second.returncode == 0, second.stderr
    storage = f"sqlite:///{tiny.study_db}"
    old, new = sorted(optuna.get_all_study_summaries(storage), key=lambda s: s.user_attrs["created"])
    assert f"tune: new study {new.study_name}, trial 0 = the config's own values" in second.stdout
    assert f"since study {old.study_name} (1 trial): memae.epochs 2 -> 3" in second.stdout
    study = optuna.load_study(study_name=new.study_name, storage=storage)
    assert study.trials[0].state == optuna.trial.TrialState.COMPLETE
    assert study.trials[0].params == config_values(tiny)
    third = memdev(tiny.root, "tune", "--comp", "tiny", "--trials", "1")
    assert f"tune: resuming study {new.study_name} (1 trial so far)" in third.stdout
    assert len(optuna.get_all_study_summaries(storage)) == 2


def test_a_config_outside_the_search_space_tunes_with_its_own_values_as_trial_0(tiny):
    """A valid config the space does not contain (optimizer adamw, memory 5, margin 9.5): the space is widened."""
    edit(tiny, {"memae": {"optimizer": "adamw", "memory_size": 5}, "head": {"margin": 9.5}})
    result = memdev(tiny.root, "tune", "--comp", "tiny", "--trials", "1")
    assert result.returncode == 0, result.stderr
    study, _ = completed(tiny)
    params = study.trials[0].params
    assert (params["memae.optimizer"], params["memae.memory_size"], params["head.margin"]) == ("adamw", 5, 9.5)
    assert params == config_values(tiny)
    assert "search space widened to hold the config's values: memae.memory_size low 10 -> 5" in result.stdout
    assert "memae.optimizer + 'adamw'" in result.stdout and "head.margin high 8.0 -> 9.5" in result.stdout


def fake_cross_validate(quality):
    """finetune.cross_validate whose out-of-fold scores are perfect or random by ``quality(config)``, fold by fold."""
    from memdev.training.finetune import CVResult

    def cross_validate(config, X, y, folds, memaes, on_fold=None, stacked=None, cache=None):
        rng = np.random.default_rng(0)
        scores = y + 0.1 * rng.random(len(y)) if quality(config) else rng.random(len(y))
        oof = {"memae": np.zeros(len(y)), "devnet": np.zeros(len(y))}
        for fold in range(int(folds.max()) + 1):
            held_out = np.flatnonzero(folds == fold)
            for name in oof:
                oof[name][held_out] = scores[held_out]
            on_fold(fold, held_out, oof)
        return CVResult(oof)

    return cross_validate


def test_a_trial_below_the_median_after_its_first_fold_is_pruned_there(monkeypatch):
    """Three good trials complete (the pruner's start-up); a bad fourth is pruned after its first fold (step 2: step 1
    is the threshold's check, which needs the fixed candidates' scores); a good fifth completes."""
    from memdev.tuning import study as tuning_study

    config = fast_config(folds=3)
    y = (np.arange(90) % 10 == 0).astype(int)
    folds = np.arange(90) % 3
    monkeypatch.setattr(tune.pretrain, "fit_memaes", lambda *args, **kwargs: ([], None))
    monkeypatch.setattr(tune.finetune, "cross_validate", fake_cross_validate(lambda c: c.memae.memory_size < 100))
    study = optuna.create_study(direction="maximize", pruner=tuning_study.pruner(),
                                sampler=optuna.samplers.RandomSampler(seed=0))
    for size in (20, 30, 40, 400, 50):  # the fake's scores depend on the memory size alone
        study.enqueue_trial({"memae.memory_size": size, "threshold.strategy": "f1"})
    study.optimize(tune.objective_factory(config, np.zeros((90, 2)), y, folds), n_trials=5)
    states = [t.state for t in study.trials]
    complete, pruned = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED
    assert states == [complete, complete, complete, pruned, complete]
    assert list(study.trials[3].intermediate_values) == [2]  # stopped after its first fold
    assert [list(t.intermediate_values) for t in study.trials if t.state == complete] == [[2, 3, 4]] * 4
    assert [t.value for t in study.trials if t.state == complete] == [1.0] * 4
    note = tune.trial_note(study, study.trials[3])
    assert note.startswith("#3 pruned after 1 fold: ")
    assert note.endswith(" so far, below the other trials' median there, best 1.0000 (#0)")


def test_a_threshold_that_falls_behind_on_the_fixed_candidates_scores_is_pruned_before_anything_trains(monkeypatch):
    """With gbm's, iforest's and lof's out-of-fold scores at hand (after `make train`), each trial first reports its
    threshold's metric on them (step 1): a contamination rate half the prevalence calls half the anomalies at most."""
    from memdev.tuning import study as tuning_study

    config = fast_config(folds=3)
    y = (np.arange(90) % 10 == 0).astype(int)
    folds = np.arange(90) % 3
    scores = y + 0.1 * np.random.default_rng(0).random(90)  # every candidate ranks the anomalies first
    fitted = {(name, k): (None, scores[folds == k]) for name in ("gbm", "iforest", "lof") for k in range(3)}
    trained = []
    monkeypatch.setattr(tune.pretrain, "fit_memaes", lambda config, *args, **kwargs: trained.append(config) or ([], None))
    monkeypatch.setattr(tune.finetune, "cross_validate", fake_cross_validate(lambda c: True))
    study = optuna.create_study(direction="maximize", pruner=tuning_study.pruner(),
                                sampler=optuna.samplers.RandomSampler(seed=0))
    space = searchspace.search_space(config, y)
    for params in [{"threshold.strategy": "f1"}] * 3 + [
            {"threshold.strategy": "contamination", "threshold.contamination": space["threshold.contamination"]["low"]}]:
        study.enqueue_trial({"memae.memory_size": 20, **params})
    study.optimize(tune.objective_factory(config, np.zeros((90, 2)), y, folds, space, fitted=fitted), n_trials=4)
    states = [t.state for t in study.trials]
    complete, pruned = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED
    assert states == [complete] * 3 + [pruned]
    assert [list(t.intermediate_values) for t in study.trials] == [[1, 2, 3, 4]] * 3 + [[1]]
    assert study.trials[3].intermediate_values[1] <= 2 / 3  # F1 with at most half the anomalies called
    assert len(trained) == 3  # the fourth trial trained nothing
    note = tune.trial_note(study, study.trials[3])
    assert note.startswith("#3 pruned before training (its threshold on the candidates at hand): ")


def test_the_objective_is_the_cross_validated_metric_of_the_trials_config(tiny):
    """What a trial returns is what `make train` would report for its parameters: same folds, same candidates,
    the nested CV."""
    from memdev import runtime
    from memdev.features import preprocess
    from memdev.training import decision, finetune, pretrain
    from memdev.training import folds as folds_io

    config = config_io.load(tiny.config)
    runtime.seed_everything(config.seed)
    X, y, _ = preprocess.load_features(tiny)
    folds = folds_io.assign(y, config)
    space = searchspace.search_space(config, y)
    params = {**searchspace.config_params(config, space), "memae.memory_size": 20, "head.margin": 3.0}
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(params)
    study.optimize(tune.objective_factory(config, X, y, folds, space), n_trials=1)
    (trial,) = study.trials
    assert trial.params == params and trial.state == optuna.trial.TrialState.COMPLETE
    trained = config.with_params(params)
    memaes, stacked = pretrain.fit_memaes(trained, X, y, folds)
    summary, _ = decision.summarise(trained, y, folds, finetune.cross_validate(trained, X, y, folds, memaes,
                                                                               stacked=stacked).oof)
    assert trial.value == pytest.approx(summary.value) and trial.user_attrs["model"] == summary.model


def test_trials_that_all_scored_the_same_get_no_importances_and_no_warning(tmp_path, caplog, recwarn):
    from memdev.paths import Paths

    study = optuna.create_study(direction="maximize")
    study.optimize(lambda trial: 0.5 + 0 * trial.suggest_float("memae.shrink", 0.0, 1.0), n_trials=3)
    paths = Paths("toy", tmp_path)
    tune.finish(study, fast_config(), paths)
    assert "best trial #0" in caplog.text and "most important" not in caplog.text
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
    assert not (paths.reports / "tune_importances.png").exists() and (paths.reports / "tune_history.png").exists()


def study_of(*per_fold_lists, recorded=True):
    """A study whose trial k has memory size 10 + k and the nested CV ``per_fold_lists[k]`` (mean as value),
    kept in the trial as ``make tune`` keeps it if ``recorded`` (an older study's trials lack it)."""
    study = optuna.create_study(direction="maximize")
    size = optuna.distributions.IntDistribution(10, 500, log=True)
    for k, per_fold in enumerate(per_fold_lists):
        study.add_trial(optuna.trial.create_trial(params={"memae.memory_size": 10 + k}, distributions={"memae.memory_size": size},
                                                  value=float(np.mean(per_fold)),
                                                  user_attrs={"per_fold": per_fold} if recorded else {}))
    return study


def test_the_best_trial_is_taken_only_where_it_beats_the_configs_own_by_more_than_a_standard_error():
    own = {"memae.memory_size": 10}
    lucky = study_of([0.50, 0.60, 0.55], [0.60, 0.50, 0.58])  # +0.01 per fold, ± 0.06
    pick, gains = tune.chosen(lucky, own)
    assert pick.number == 0 and gains == pytest.approx([0.10, -0.10, 0.03])
    clear = study_of([0.50, 0.60, 0.55], [0.60, 0.50, 0.58], [0.56, 0.64, 0.60])  # +0.05 per fold, ± 0.003
    assert tune.chosen(clear, own)[0].number == 2
    assert tune.chosen(lucky, None)[0].number == 1  # nothing to compare with: the best
    assert tune.chosen(lucky, {"memae.memory_size": 11})[0].number == 1  # the config's own is the best
    older = study_of([0.50, 0.60, 0.55], [0.60, 0.50, 0.58], recorded=False)
    assert tune.chosen(older, own) == (older.trials[1], None)  # no per-fold CVs to compare: the best


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # the plots, as `make tune` does
def test_a_study_whose_best_trial_is_not_clearly_better_keeps_the_configs_own_values(tmp_path, caplog):
    from memdev.paths import Paths

    paths = Paths("toy", tmp_path)
    study = study_of([0.50, 0.60, 0.55], [0.60, 0.50, 0.58])
    pick = tune.finish(study, fast_config(), paths, {"memae.memory_size": 10})
    record = yaml.safe_load(paths.best_params.read_text())
    assert pick.number == record["trial"] == 0 and record["params"] == {"memae.memory_size": 10}
    assert "best trial #1" in caplog.text and "tune: kept the config's own values (trial #0" in caplog.text
    assert "+0.0100 ± 0.0586 per fold, within one standard error" in record["why"]


@pytest.mark.parametrize("url", ["postgresql://nobody:s3cret@127.0.0.1:1/memdev", "postgresql+psycopg2://nobody:s3cret@127.0.0.1:1/memdev"])
def test_tuning_against_an_unreachable_postgresql_server_is_one_error_line_naming_it(tiny, url):
    result = memdev(tiny.root, "tune", "--comp", "tiny", "--trials", "0", "--storage", url, timeout=120)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    masked = url.replace(":s3cret@", ":***@")
    assert line.startswith(f"memdev tune: error: cannot open the study storage {masked}: ")
    assert "Connection refused" in line and "s3cret" not in line
