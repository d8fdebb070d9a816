"""_ext/convviz_wide.py: a table after <!-- convviz: full-width --> gets the full-width container, and the
errata notebook uses the marker instead of a MyST fence (which JupyterLab and Colab show as raw text)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from docutils import nodes
from docutils.core import publish_doctree
from myst_parser.docutils_ import Parser

ROOT = Path(__file__).resolve().parents[1]


def load():
    spec = importlib.util.spec_from_file_location("convviz_wide", ROOT / "_ext" / "convviz_wide.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def doctree(text):
    return publish_doctree(text, parser=Parser(), settings_overrides={"report_level": 4})


def test_marked_table_is_wrapped_and_the_marker_dropped():
    ext = load()
    tree = doctree("Intro.\n\n<!-- convviz: full-width -->\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n| c |\n|---|\n| 3 |\n")
    ext.wrap_marked_tables(None, tree)
    boxes = [c for c in tree.findall(nodes.container) if "full-width" in c["classes"]]
    assert len(boxes) == 1 and isinstance(boxes[0][0], nodes.table) and "1" in boxes[0].astext()
    assert not any(ext.MARKER in r.astext() for r in tree.findall(nodes.raw))
    # the other table is left alone
    assert len(list(tree.findall(nodes.table))) == 2 and "3" not in boxes[0].astext()


def test_marker_without_a_table_warns(monkeypatch):
    ext = load()
    seen = []
    monkeypatch.setattr(ext.logger, "warning", lambda msg, **kw: seen.append(msg))
    ext.wrap_marked_tables(None, doctree("<!-- convviz: full-width -->\n\nJust a paragraph.\n"))
    assert seen and "must be followed by a Markdown table" in seen[0]


@pytest.mark.parametrize("nb", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.stem)
def test_no_container_fences_in_the_notebooks(nb):
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "{container}" not in text  # raw text in Jupyter: use <!-- convviz: full-width --> before the table


def test_errata_table_is_marked():
    cells = json.loads((ROOT / "book" / "appendix_errata.ipynb").read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"])
    assert "<!-- convviz: full-width -->\n\n| # | article |" in first
