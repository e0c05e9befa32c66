"""Study 1: plain, deep and convolutional autoencoders and the MemAE by epoch budget."""

import pandas as pd
import trained_toy

from memdev.reporting.studies import compare


def test_compare_trains_four_architectures_on_each_epoch_budget(tmp_path_factory, caplog):
    config, paths = trained_toy.labeled(tmp_path_factory)
    written = compare.run(config, paths)
    names = sorted(p.name for p in written)
    assert names == ["compare.csv", "compare.md", "compare_auc.png", "compare_loss.png"]
    assert caplog.text.count("compare: wrote") == 4
    for name in ("compare_auc.png", "compare_loss.png"):
        trained_toy.assert_png(paths.reports / name)
    table = pd.read_csv(paths.reports / "compare.csv")
    assert len(table) == 12
    assert sorted(set(table["model"])) == ["conv", "deep", "memae", "plain"]
    assert table.groupby("model")["epochs"].apply(list).map(lambda e: e == [1, 5, 10]).all()
    assert "conv2d AE (4x4 image)" in set(table["label"])  # 16 features: the 2-D convolution
    memae = table[(table["model"] == "memae") & (table["epochs"] == 10)].iloc[0]
    assert memae["auc_roc"] > 0.8 and memae["auc_pr"] > 0.5  # prevalence 0.1: far above chance
    page = (paths.reports / "compare.md").read_text()
    assert "2 of 3 folds" in page and "![" in page and page.count("| MemAE") == 3
    assert "three hidden layers (16, 4, 16 units)" in page
    assert page.count(" **best**") == 1 and " ± " in page  # two folds: the spread between them


def test_compare_without_labels_says_so_and_skips(tmp_path_factory):
    config, paths = trained_toy.unlabeled(tmp_path_factory)
    paths.reports.mkdir(parents=True, exist_ok=True)
    stale = paths.reports / "compare_auc.png"
    stale.write_bytes(trained_toy.PNG)
    written = compare.run(config, paths)
    assert [p.name for p in written] == ["compare.md"]
    assert "no ground truth" in (paths.reports / "compare.md").read_text()
    assert not stale.exists()
