"""memdev.bench.ablation: the subsets of the head's inputs, and their means over competitions."""

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


def test_the_menus_measure_iforest_lof_the_ensemble_and_stack_lf_one_at_a_time():
    names = list(ablation.MENUS)
    assert ablation.MENUS[names[0]] == (ablation.TODAY, False)
    assert set(ablation.MENUS[names[1]][0]) - set(ablation.TODAY) == {"iforest", "lof"}
    assert ablation.MENUS[names[2]] == (ablation.MENUS[names[1]][0], True)
    assert set(ablation.MENUS[names[3]][0]) ^ set(ablation.MENUS[names[2]][0]) == {"stack", "stack_lf"}
