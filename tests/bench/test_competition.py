"""memdev.bench.competition: the leaderboard step, on a solution that holds the Public half only."""

import pandas as pd

from memdev.bench import competition, render
from memdev.bench.results import PRIVATE, PUBLIC, Model, Result
from memdev.bench.throughput import Speed


def test_a_public_only_solution_scores_the_public_half_and_renders_without_a_private_column(tmp_path):
    ids = [f"{i:03d}" for i in range(40)]
    truth = [int(i % 5 == 0) for i in range(40)]
    solution = tmp_path / "toy.solution.csv"
    pd.DataFrame({"Id": ids, "Outcome": truth, "Usage": "Public"}).to_csv(solution, index=False)
    models = []
    for name, noise in (("pipeline", 0.1), ("IsolationForest", 1.5)):
        csv = tmp_path / f"{name}.csv"
        scores = [t + noise * ((7 * i) % 10) / 10 for i, t in enumerate(truth)]
        pd.DataFrame({"Id": ids, "Outcome": scores}).to_csv(csv, index=False)
        models.append(Model(name, csv, 1.0, 0.1, 10.0))
    competition.score(models, solution, "average_precision")
    assert models[0].value() == 1.0 and models[1].value() < 1.0
    assert PRIVATE not in models[0].scores and models[0].value(PRIVATE) is None
    assert models[0].value(PUBLIC, "auc_roc") == 1.0
    speed = Speed(100, 10, 1000, 1.0, 1.0, {"hidden": [8], "latent": 2, "memory_size": 5, "batch_size": 4})
    text = render.bench_sections([Result("toy", metric="average_precision", regime="weak", models=models)], [], speed,
                                 "header")
    head = next(line for line in text.splitlines() if line.startswith("| competition | regime |"))
    assert "private" not in head.lower() and "| toy | weak | average_precision | n/a | 1.0000 ± 0.0000 | " in text


def test_a_finished_run_is_saved_and_read_back_instead_of_run_again(tmp_path):
    result = Result("toy", metric="f1", seed=2, weights={"gbm": 0.5, "devnet": 0.5},
                    models=[Model("pipeline", tmp_path / "p.csv", 1.0, 0.1, 10.0, cv=0.7)],
                    candidates=[Model("gbm", tmp_path / "g.csv", 0.0, 0.1, 0.0, cv=0.6)])
    (tmp_path / "root").mkdir()
    result.save(tmp_path / "root" / "result.json")
    again = competition.run("toy", tmp_path / "nowhere", tmp_path / "root", seed=2)
    assert again == result
