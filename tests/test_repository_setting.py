"""The repository is set once, in ``_config.yml`` (``repository.url`` and ``branch``).

Jupyter Book builds the Binder and Colab launch links from that setting; each notebook's hidden
Colab install cell must install the package from the same place. ``scripts/set_repository.py``
writes the cells; this test fails while any notebook disagrees (run the script to fix it).
"""
from __future__ import annotations

import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("set_repository", ROOT / "scripts" / "set_repository.py")
set_repository = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(set_repository)

NOTEBOOKS = set_repository.notebooks()


def test_every_book_notebook_is_covered():
    assert {p.stem for p in NOTEBOOKS} >= {"ch1_conv2d", "ch3_transposed_conv", "appendix_errata"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_install_cell_agrees_with_config(path):
    target = set_repository.install_target()
    found = set_repository.problems(path, target)
    assert not found, "\n".join(found) + "\nrun: .venv/bin/python scripts/set_repository.py"


def test_script_rewrites_a_disagreeing_cell(tmp_path):
    """The script's rewrite follows the setting and leaves everything else in the file alone."""
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/someone/convviz-fork/\n  branch: dev\n")
    target = set_repository.install_target(config)
    assert target == "https://github.com/someone/convviz-fork@dev"
    src = NOTEBOOKS[0]
    copy = tmp_path / src.name
    copy.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    assert set_repository.problems(copy, target)  # disagrees before
    assert set_repository.rewrite(copy, target)
    assert not set_repository.problems(copy, target)
    assert not set_repository.rewrite(copy, target)  # idempotent
    before, after = json.loads(src.read_text(encoding="utf-8")), json.loads(copy.read_text(encoding="utf-8"))
    changed = [i for i, (a, b) in enumerate(zip(before["cells"], after["cells"])) if a != b]
    assert len(before["cells"]) == len(after["cells"]) and len(changed) == 1
    assert [c.get("id") for c in before["cells"]] == [c.get("id") for c in after["cells"]]
    assert copy.read_text(encoding="utf-8").endswith("}\n")


def test_launch_buttons_use_the_setting():
    """The launch links come from repository.url: nothing else in _config.yml names a repository."""
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    url, _ = set_repository.repository()
    assert text.count("github.com/") == 1 and url in text
