"""memdev.bench.ablation: the subsets of the head's inputs, and their means over competitions."""

import json

import numpy as np
import pytest

from memdev.bench import ablation
from memdev.config import HEAD_INPUTS


def test_subsets_ask_whether_a_memae_view_adds_to_the_features():
    subsets = ablation.subsets()
    assert subsets[0] == list(HEAD_INPUTS) and ["features"] in subsets and ["latent", "readout", "error"] in subsets
    assert [s for s in subsets if len(s) == 2] == [["features", "latent"], ["features", "readout"], ["features", "error"]]
    assert len({tuple(s) for s in subsets}) == len(subsets)


def test_seeds_become_a_mean_and_std_per_competition_and_means_rank_the_rows():
    table: ablation.Table = {}
    ablation.add(table, "a", {"latent": [0.4, 0.6], "latent,error": [0.6, 0.6]})
    ablation.add(table, "b", {"latent": [0.7, 0.7], "latent,error": [0.7, 0.9]})
    assert table["latent"] == {"a": (0.5, 0.09999999999999998), "b": (0.7, 0.0)}
    assert list(ablation.means(table).items()) == [("latent,error", 0.7), ("latent", 0.6)]


def test_the_menus_measure_iforest_lof_the_ensemble_stack_lf_and_the_blend_prior_one_at_a_time():
    names = list(ablation.MENUS)
    assert ablation.MENUS[names[0]] == (ablation.TODAY, False, None)
    assert set(ablation.MENUS[names[1]][0]) - set(ablation.TODAY) == {"iforest", "lof"}
    assert ablation.MENUS[names[2]] == (ablation.MENUS[names[1]][0], True, None)
    assert set(ablation.MENUS[names[3]][0]) ^ set(ablation.MENUS[names[2]][0]) == {"stack", "stack_lf"}
    assert ablation.MENUS[names[-1]] == (ablation.MENUS[names[2]][0], True, "blend")  # the default: C kept to the blend


def test_the_smaller_blends_leave_out_each_part_and_then_both_parts_that_read_the_memae():
    from memdev.models.ranks import BLEND_PARTS, blend

    rng = np.random.default_rng(0)
    oof = {name: rng.random(50) for name in BLEND_PARTS}
    smaller = ablation.smaller_blends(oof)
    assert set(smaller) == {f"blend - {name}" for name in BLEND_PARTS} | {"blend - devnet, stack"}
    np.testing.assert_array_equal(smaller["blend - devnet, stack"], blend(oof["gbm"], oof["catboost"]))
    np.testing.assert_array_equal(smaller["blend - stack"], blend(oof["devnet"], oof["gbm"], oof["catboost"]))


def test_a_finished_run_measures_the_menus_again_from_its_kept_scores_without_training(tmp_path, monkeypatch):
    from conftest import fast_config
    from memdev import config as config_io
    from memdev.paths import Paths

    paths = Paths("toy", tmp_path)
    paths.config.parent.mkdir(parents=True)
    config_io.save(fast_config(slug="toy", metric="average_precision", submission="score"), paths.config)
    rng = np.random.default_rng(0)
    y = (np.arange(200) % 7 == 0).astype(int)
    names = {n for menu, _, _ in ablation.MENUS.values() for n in menu} | {"stack_lf"}
    np.savez(tmp_path / "oof.npz", y=y, folds=np.arange(200) % 5, **{n: y + rng.random(200) for n in names})
    (tmp_path / "ablation.json").write_text(json.dumps({"features": 0.5, "B A + iforest, lof": 0.1, "gone": 0.2}))
    monkeypatch.setattr(ablation, "prepare", lambda *args: pytest.fail("trained again"))
    out = ablation.measure("toy", tmp_path, tmp_path, 0)
    assert out["features"] == 0.5 and "gone" not in out  # the head rows read back, the menus measured again
    assert set(ablation.MENUS) | {f"fixed: {n}" for n in names} <= set(out) and out["B A + iforest, lof"] > 0.5
    assert out["fixed: blend - devnet, stack"] > 0.5


def test_a_first_run_measures_the_heads_and_the_menus_and_keeps_them(tmp_path, monkeypatch):
    from conftest import fast_config
    from memdev import config as config_io
    from memdev.features import preprocess
    from memdev.paths import Paths
    from memdev.training import pretrain

    def prepare(slug, source, root):
        Paths(slug, root).config.parent.mkdir(parents=True)
        config_io.save(fast_config(slug=slug), Paths(slug, root).config)

    y = (np.arange(60) % 6 == 0).astype(int)
    monkeypatch.setattr(ablation, "prepare", prepare)
    monkeypatch.setattr(ablation, "make", lambda *args, **kwargs: None)
    monkeypatch.setattr(preprocess, "load_features", lambda paths: (np.zeros((60, 2)), y, None))
    monkeypatch.setattr(pretrain, "fit_memaes", lambda *args: ([], None))
    monkeypatch.setattr(ablation, "heads", lambda *args: {"features": 0.5})
    monkeypatch.setattr(ablation, "menus", lambda *args: {"fixed: gbm": 0.4})
    out = ablation.measure("thyroid", tmp_path, tmp_path / "root", 0)
    assert out == {"features": 0.5, "fixed: gbm": 0.4}
    assert json.loads((tmp_path / "root" / "ablation.json").read_text()) == out
