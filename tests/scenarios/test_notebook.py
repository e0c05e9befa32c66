"""The walk-through notebook runs top to bottom, headless, and is stored without outputs."""

import time

import nbformat
from nbclient import NotebookClient

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_there_is_one_notebook_and_it_is_stored_without_outputs():
    assert [p.name for p in NOTEBOOKS] == ["demo_walkthrough.ipynb"]
    notebook = nbformat.read(NOTEBOOKS[0], as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_notebook_runs_top_to_bottom_within_three_minutes(tmp_path):
    notebook = nbformat.read(NOTEBOOKS[0], as_version=4)
    client = NotebookClient(notebook, timeout=170, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    started = time.monotonic()
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any failure
    assert time.monotonic() - started < 180
    text = "\n".join(out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", []))
    # every stage spoke: the CV verdict, the studies, a submission path, the local leaderboard
    for expected in ("base-rate", "compare: wrote", "outliers: wrote", "groups: wrote", "scorers: wrote",
                     "Public", "Private", "groups.md"):
        assert expected in text, expected
    images = [out for cell in notebook.cells for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]
    assert len(images) >= 5
