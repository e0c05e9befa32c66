"""memdev.bench.ablation: the subsets of the head's inputs, and their means over competitions."""

from memdev.bench import ablation
from memdev.config import HEAD_INPUTS


def test_subsets_are_all_inputs_each_left_out_and_each_alone():
    subsets = ablation.subsets()
    assert subsets[0] == list(HEAD_INPUTS) and len(subsets) == 1 + 2 * len(HEAD_INPUTS)
    assert [s for s in subsets if len(s) == 1] == [[v] for v in HEAD_INPUTS]
    assert len({tuple(s) for s in subsets}) == len(subsets)


def test_competitions_become_columns_and_means_rank_the_rows():
    table: ablation.Table = {}
    ablation.add(table, "a", {"latent": (0.5, 0.1), "latent,error": (0.6, 0.1)})
    ablation.add(table, "b", {"latent": (0.7, 0.1), "latent,error": (0.8, 0.05)})
    assert table["latent"] == {"a": (0.5, 0.1), "b": (0.7, 0.1)}
    assert list(ablation.means(table).items()) == [("latent,error", 0.7), ("latent", 0.6)]
