"""Opening a chapter and running its first cells prints nothing on stderr (no pink box in Jupyter).

TensorFlow logs from C++ straight to the process's stderr (absl's "All log messages before
absl::InitializeLog() ..." and cpu_feature_guard's "This TensorFlow binary is optimized ..."; its
CUDA builds, Colab's, also print plugin-registration lines) unless ``TF_CPP_MIN_LOG_LEVEL`` is set
before the import, and ipykernel forwards that stream to the notebook as a stderr output. The
notebooks set it themselves: the kernel here starts with ``TF_CPP_MIN_LOG_LEVEL=0`` (everything
logged), as a reader's shell might, so a cell that only ``setdefault``s it, or sets it after the
import, fails.
"""
from __future__ import annotations

import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
IMPORTS_TF = re.compile(r"^\s*(import tensorflow|from tensorflow)", re.M)


def import_cells(nb):
    """The code cells up to and including the one that imports TensorFlow as ``tf``."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cells.append(cell)
        if "import tensorflow as tf" in cell.source:
            return cells
    raise AssertionError("no cell imports tensorflow as tf")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_log_level_is_set_before_tensorflow_is_imported(path):
    nb = nbformat.read(path, as_version=4)
    for cell in import_cells(nb):
        m = IMPORTS_TF.search(cell.source)
        if m:
            before = cell.source[: m.start()]
            assert re.search(r'os\.environ\["TF_CPP_MIN_LOG_LEVEL"\]\s*=\s*"[23]"', before), (
                f"{path.name}: the first cell that imports TensorFlow must set "
                'os.environ["TF_CPP_MIN_LOG_LEVEL"] (not setdefault) before the import'
            )
            return
    raise AssertionError(f"{path.name}: TensorFlow is never imported")


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_import_cells_print_nothing_on_stderr(path, monkeypatch):
    for name in ("TF_CPP_MIN_LOG_LEVEL", "TF_CPP_MAX_VLOG_LEVEL", "TF_CPP_VMODULE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # the kernel inherits it: the notebook must override it
    # ipykernel does not forward the process's C-level stderr to the notebook when it sees this
    # variable (inherited from pytest): without it the kernel behaves as in Jupyter
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    nb = nbformat.read(path, as_version=4)
    # ipykernel forwards the C++ stream from a pipe, asynchronously: a last cell waits for it, so
    # lines that arrive after the import cell finished are still caught (as that cell's output)
    nb.cells = import_cells(nb) + [nbformat.v4.new_code_cell("import sys, time\ntime.sleep(1)\nsys.stderr.flush()")]
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    noise = [
        f"cell {i} ({cell.get('id')}): {out.get('text', out.get('evalue', ''))}"
        for i, cell in enumerate(nb.cells)
        for out in cell.outputs
        if out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr")
    ]
    assert not noise, f"{path.name}: the import cells print on stderr:\n" + "\n".join(noise)
