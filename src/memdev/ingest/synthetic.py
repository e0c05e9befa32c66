"""Synthetic competitions of any size, for tests, benchmarks and practice.

Normal rows live near a low-dimensional structure: every numeric column is a
mix of a few shared latent factors plus noise (some squashed through exp to
give heavy tails), and each categorical column's level follows the first
factor. An anomaly is a normal row whose structure is broken in a few
columns at once: those numbers are redrawn independently of the factors,
and a categorical column may take a level normal rows almost never do.
Each value alone stays inside the normal range, so the label is learnable
from the joint structure but not from any single column.

With ``anomalies="local"`` the normal rows instead fall in many clusters of
different spread and shape (each categorical level follows the cluster), and
an anomaly is a row of its cluster drawn a little too far out: an outlier only
against its own neighbourhood, which a detector of local density (LOF) sees
and a few labels cannot teach a supervised model, since each anomaly is off
in a direction of its own (issue 15's LOF example).

Rows are generated and appended in chunks, so any number of rows is written
in bounded memory. The hidden labels of test.csv go to
``data/<slug>/<slug>.solution.csv`` (with Kaggle's ``Usage`` column), which
only ``memdev score`` reads.
"""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from memdev import atomic
from memdev.errors import MemdevError
from memdev.ingest import fetch
from memdev.paths import Paths

log = logging.getLogger(__name__)

CHUNK_ROWS = 100_000
FACTORS = 5
LEVELS = 6  # levels per categorical column; the last one is the rare, anomalous one
MISSING = 0.01  # share of empty cells in the first numeric column
KINDS = ("broken", "local")  # how anomalies differ from normal rows
CLUSTERS = 40  # of the local kind's normal rows
LOCAL_RADIUS = (1.15, 1.5)  # how much farther out than its cluster's rows a local anomaly is drawn


def generate(
    paths: Paths, rows: int, columns: int = 50, categorical: int = 5, rate: float = 0.02, seed: int = 0,
    test_rows: int | None = None, anomalies: str = "broken",
) -> None:
    """Write train.csv, test.csv, sample_submission.csv and the solution, then detect the config."""
    test_rows = max(rows // 4, 10) if test_rows is None else test_rows
    if rows < 10 or test_rows < 1 or not 0 < rate < 0.5 or not 0 <= categorical <= columns or columns < 2:
        raise MemdevError(
            f"synth: need rows >= 10, 0 <= categorical <= columns, columns >= 2 and 0 < rate < 0.5; "
            f"got rows={rows}, columns={columns}, categorical={categorical}, rate={rate}"
        )
    if anomalies not in KINDS:
        raise MemdevError(f"synth: anomalies must be one of {', '.join(KINDS)}; got {anomalies!r}")
    numeric = columns - categorical
    # the shape of the normal data is part of the competition: drawn once from the seed
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(FACTORS, numeric)) / np.sqrt(FACTORS)
    heavy = rng.random(numeric) < 0.2
    cuts = np.sort(rng.normal(size=(categorical, LEVELS - 2)), axis=1)
    names = [f"num{i}" for i in range(numeric)] + [f"cat{i}" for i in range(categorical)]
    if anomalies == "local":  # drawn after the broken kind's shape, which stays as it was
        centers = rng.normal(scale=3.0, size=(CLUSTERS, numeric))
        spreads = np.exp(rng.uniform(np.log(0.3), np.log(1.5), size=CLUSTERS))
        shapes = rng.normal(size=(CLUSTERS, numeric, numeric)) / np.sqrt(max(numeric, 1))

    def local(r: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y = (r.random(n) < rate).astype(np.int8)
        cluster = r.integers(CLUSTERS, size=n)
        z = r.normal(size=(n, numeric))
        z[y == 1] *= r.uniform(*LOCAL_RADIUS, size=(int(y.sum()), 1))
        x = np.empty((n, numeric))
        for k in np.unique(cluster):
            rows = cluster == k
            x[rows] = centers[k] + spreads[k] * z[rows] @ shapes[k].T
        levels = (cluster[:, None] + np.arange(categorical)) % (LEVELS - 1)
        return x, levels, y

    def chunk(n: int, start: int, index: int) -> tuple[pa.Table, np.ndarray]:
        r = np.random.default_rng([seed, index])
        if anomalies == "local":
            x, levels, y = local(r, n)
            return to_table(r, x, levels, start), y
        factors = r.normal(size=(n, FACTORS))
        x = factors @ mixing + 0.3 * r.normal(size=(n, numeric))
        levels = np.zeros((n, categorical), dtype=int)
        for i, c in enumerate(cuts):
            levels[:, i] = np.searchsorted(c, factors[:, 0] + 0.5 * r.normal(size=n))
        y = (r.random(n) < rate).astype(np.int8)
        broken = np.flatnonzero(y)
        # 3 to 6 columns of an anomaly lose their link to the factors
        chosen = r.random((len(broken), numeric)) < r.uniform(3, 6, size=(len(broken), 1)) / max(numeric, 1)
        redrawn = r.normal(scale=x.std(axis=0), size=(len(broken), numeric))
        x[broken] = np.where(chosen, redrawn, x[broken])
        if categorical:
            rare = r.random(len(broken)) < 0.3
            levels[broken[rare], r.integers(0, categorical, size=int(rare.sum()))] = LEVELS - 1
        x[:, heavy] = np.exp(x[:, heavy])
        return to_table(r, x, levels, start), y

    def to_table(r: np.random.Generator, x: np.ndarray, levels: np.ndarray, start: int) -> pa.Table:
        n = len(x)
        x = x.round(4)
        if numeric:
            x[r.random(n) < MISSING, 0] = np.nan
        arrays = {"id": pa.array(np.arange(start, start + n))}
        for i, name in enumerate(names[:numeric]):
            arrays[name] = pa.array(x[:, i], from_pandas=True)
        for i, name in enumerate(names[numeric:]):
            arrays[name] = pa.array(np.char.add(f"c{i}_", levels[:, i].astype(str)))
        return pa.table(arrays)

    with contextlib.ExitStack() as stack:
        files = {
            name: stack.enter_context(atomic.atomic_path(path))
            for name, path in (("train", paths.train_csv), ("test", paths.test_csv),
                               ("sample", paths.sample_csv), ("solution", paths.solution))
        }
        writers: dict[str, pacsv.CSVWriter] = {}

        def write(name: str, table: pa.Table) -> None:
            if name not in writers:
                options = pacsv.WriteOptions(quoting_style="needed")
                writers[name] = stack.enter_context(pacsv.CSVWriter(files[name], table.schema, write_options=options))
            writers[name].write_table(table)

        index = 0
        for split, total, first_id in (("train", rows, 0), ("test", test_rows, rows)):
            for start in range(0, total, CHUNK_ROWS):
                n = min(CHUNK_ROWS, total - start)
                table, y = chunk(n, first_id + start, index)
                index += 1
                if split == "train":
                    write("train", table.append_column("anomaly", pa.array(y)))
                    continue
                write("test", table)
                ids = table.column("id")
                write("sample", pa.table({"id": ids, "anomaly": pa.array(np.zeros(n, dtype=np.int8))}))
                public = np.where(np.random.default_rng([seed, index, 1]).random(n) < 0.5, "Public", "Private")
                write("solution", pa.table({"id": ids, "anomaly": pa.array(y), "Usage": pa.array(public)}))
    log.info(f"synth: {rows:,} train + {test_rows:,} test rows, {numeric} numeric + {categorical} categorical "
          f"columns, anomaly rate {rate:g} ({anomalies} anomalies), into {paths.raw}; "
          f"hidden labels in {paths.solution}")
    fetch.fetch(paths)
