"""Every docstring example in the package runs (numpy-style ``Examples`` sections)."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import convviz

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(convviz.__path__, prefix="convviz.")
)
# modules whose public functions must each carry at least one example
CORE = ["convviz.geometry", "convviz.ops", "convviz.jacobian", "convviz.check", "convviz.validate", "convviz.gradients",
        "convviz.frameworks"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs={"np": np, **vars(module)}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


@pytest.mark.parametrize("name", CORE)
def test_public_core_functions_have_examples(name):
    module = importlib.import_module(name)
    missing = []
    for fn_name in getattr(module, "__all__", []):
        obj = getattr(module, fn_name)
        if callable(obj) and not isinstance(obj, type) and ">>>" not in (obj.__doc__ or ""):
            missing.append(fn_name)
    assert not missing, f"{name}: public functions without an Examples section: {missing}"
