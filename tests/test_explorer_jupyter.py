"""The explorer as an anywidget in JupyterLab, in headless Chromium (no network).

Starts JupyterLab on 127.0.0.1 with an untitled notebook that displays ``cw.explore_conv(...)`` and then
sets ``w.stride = 3`` from Python: the view must show convviz's numbers for stride 3. An arrow key on the
stride slider must change the view (convviz's numbers for stride 2) and ``w.stride`` in the kernel, and
arrow keys on a grid must not move JupyterLab's active cell.

JupyterLab is not in requirements.txt: the test uses ``$CONVVIZ_JUPYTER`` (a ``jupyter`` executable whose
environment has jupyterlab, anywidget and convviz importable) or ``jupyter-lab`` next to this Python, and
is skipped when neither exists.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import convviz as cv
from browser_support import CHROMIUM, CHROMIUM_ARGS, Offline
from convviz import widgets as cw

pytestmark = pytest.mark.browser


def _jupyter():
    env = os.environ.get("CONVVIZ_JUPYTER")
    if env and Path(env).exists():
        return env
    here = Path(sys.executable).parent
    return str(here / "jupyter") if (here / "jupyter-lab").exists() else None


JUPYTER = _jupyter()

READ = """() => { const r = document.querySelector('.convviz-explorer');
    return {y0: JSON.parse(r.querySelector('canvas[data-grid=y0]').dataset.values),
            stride: r.querySelector('input[name=stride]').value,
            outs: [...document.querySelectorAll('.jp-OutputArea-output pre')].map(e => e.textContent)}; }"""


@pytest.mark.skipif(JUPYTER is None, reason="no JupyterLab (set CONVVIZ_JUPYTER to a jupyter with jupyterlab + anywidget)")
def test_explorer_in_jupyterlab(tmp_path):
    import nbformat
    from playwright.sync_api import sync_playwright

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import convviz.widgets as cw\nw = cw.explore_conv(input_size=6, padding=1)\nw"),
                nbformat.v4.new_code_cell("w.stride = 3"),
                nbformat.v4.new_code_cell("print('stride', w.stride, 'error', repr(w.error))")]
    nbformat.write(nb, tmp_path / "t.ipynb")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    prefix = Path(JUPYTER).resolve().parents[1]
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               JUPYTER_DATA_DIR=str(prefix / "share" / "jupyter"))
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(
        [JUPYTER, "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--allow-root",
         "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         f"--ServerApp.root_dir={tmp_path}", "--LabApp.expose_app_in_browser=True"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    origin = f"http://127.0.0.1:{port}"
    x = cw.BASE_X[:1, :6, :6].astype(float)
    k = cw.BASE_W[:1, :1, :3, :3].astype(float)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(origin + "/api", timeout=2)
                break
            except Exception:
                time.sleep(0.5)
        with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
            ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                       args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
            try:
                offline = Offline(ctx, origin)
                page = ctx.new_page()
                errors = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(origin + "/lab/tree/t.ipynb")
                page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=120_000)
                page.wait_for_timeout(3000)
                page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
                page.wait_for_selector(".convviz-explorer canvas.cvx-grid", timeout=120_000)
                page.wait_for_function("[...document.querySelectorAll('.jp-OutputArea-output pre')]"
                                       ".some(e => e.textContent.startsWith('stride'))", timeout=60_000)
                page.wait_for_timeout(500)
                shown = page.evaluate(READ)
                # Python set w.stride = 3 after the display: the view follows
                assert shown["stride"] == "3"
                assert np.array_equal(np.asarray(shown["y0"]), cv.conv2d(x[None], k, 3, 1, 1)[0, 0])
                # the slider in the page: stride 2, in the view and in the kernel
                page.locator(".convviz-explorer input[name=stride]").focus()
                active = page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex")
                page.keyboard.press("ArrowLeft")
                page.locator(".convviz-explorer canvas[data-grid=y0]").focus()
                page.keyboard.press("ArrowDown")
                page.keyboard.press("ArrowDown")
                assert page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex") == active
                page.wait_for_timeout(500)
                shown = page.evaluate(READ)
                assert shown["stride"] == "2"
                assert np.array_equal(np.asarray(shown["y0"]), cv.conv2d(x[None], k, 2, 1, 1)[0, 0])
                page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content;
                                  nb.activeCellIndex = 2; return window.jupyterapp.commands.execute('notebook:run-cell'); }""")
                page.wait_for_function("[...document.querySelectorAll('.jp-OutputArea-output pre')]"
                                       ".some(e => e.textContent.startsWith('stride 2'))", timeout=60_000)
                assert not errors, errors
                assert not offline.blocked, offline.blocked
            finally:
                ctx.close()
    finally:
        server.terminate()
        server.wait(20)
        log.close()
