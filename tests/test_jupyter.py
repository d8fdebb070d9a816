"""The explorers in a real JupyterLab, as a reader uses them (issue 9, "Jupyter" acceptance).

A JupyterLab server on 127.0.0.1 serves a temporary directory holding copies of ch1 and ch3; headless
Chromium (Debian's, never a downloaded one; every non-loopback request blocked) opens each notebook,
runs all cells in a kernel of this environment and then

* finds the explorers (root elements with the class ``convviz-explorer``), moves a slider with the
  keyboard and with the pointer and hovers a grid cell: the displayed numbers change, and the kernel
  sees the new value (moving a slider updates the widget's trait);
* sets a trait from Python (``w.stride = 2`` on a returned explorer): the view redraws;
* checks that no cell printed on stderr (TensorFlow's log in the import cell is the usual culprit);
* saves the notebook and reopens it without a kernel: each explorer's stand-in output mounts the static
  explorer in place of the widget view, which JupyterLab cannot render without a kernel.

JupyterLab is taken from this environment (``.venv/bin/jupyter-lab``) or from ``CONVVIZ_JUPYTER_LAB``
(the path of another ``jupyter-lab``; the kernel is still this environment's Python, and the widget
front-ends, anywidget's and ipywidgets', are this environment's labextensions). Without one the tests
skip. Screenshots go to ``$CONVVIZ_JUPYTER_SHOTS`` when it is set; ``CONVVIZ_WIDGET_SAVESTATE=1`` turns on
JupyterLab's "save widget state automatically" (off by default, as for a new reader).
"""
from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

import convviz as cv
from convviz import widgets as cw

pytestmark = pytest.mark.jupyter

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
NOTEBOOKS = {"ch1_conv2d": "explore_conv", "ch3_transposed_conv": "explore_transpose"}
RUN_TIMEOUT = 900  # seconds for "run all" of one chapter (TensorFlow, PyTorch and every figure)
SHOTS = os.environ.get("CONVVIZ_JUPYTER_SHOTS")


def jupyter_lab() -> str | None:
    exe = os.environ.get("CONVVIZ_JUPYTER_LAB") or str(pathlib.Path(sys.executable).with_name("jupyter-lab"))
    return exe if os.access(exe, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    exe = jupyter_lab()
    if exe is None:
        pytest.skip("JupyterLab is not installed in this environment (add jupyterlab to requirements.txt), "
                    "or set CONVVIZ_JUPYTER_LAB to a jupyter-lab executable")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (scripts/test.sh installs Debian's chromium)")
    base = tmp_path_factory.mktemp("jupyterlab")
    root, data, settings = base / "root", base / "data", base / "settings"
    root.mkdir()
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "book" / f"{name}.ipynb", root / f"{name}.ipynb")
    import nbformat

    small = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from convviz.widgets import explore_conv\nw = explore_conv()\nw")])
    small.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(small, root / "one_explorer.ipynb")
    # the kernel is this environment's Python, whichever environment runs the server
    spec = data / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python", "metadata": {"debugger": True}}))
    # no news / update pop-ups over the notebook
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    if os.environ.get("CONVVIZ_WIDGET_SAVESTATE"):  # JupyterLab's "save widget state automatically"
        (settings / "@jupyter-widgets" / "jupyterlab-manager").mkdir(parents=True)
        (settings / "@jupyter-widgets" / "jupyterlab-manager" / "plugin.jupyterlab-settings").write_text(
            json.dumps({"saveState": True}))
    # every cell stays in the DOM (JupyterLab 4 otherwise leaves off-screen cells unrendered)
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    token = secrets.token_hex(16)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TF_CPP", "JUPYTER"))}
    # data first (the kernel spec), then this environment's share/jupyter (anywidget's and ipywidgets'
    # labextensions, matching the kernel's packages)
    env["JUPYTER_PATH"] = os.pathsep.join([str(data), str(pathlib.Path(sys.prefix) / "share" / "jupyter")])
    env["JUPYTER_CONFIG_DIR"] = str(base / "config")
    env["JUPYTER_RUNTIME_DIR"] = str(base / "runtime")
    env["JUPYTER_DATA_DIR"] = str(base / "userdata")  # the notary's secret: notebooks saved here are trusted
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    log = open(base / "jupyterlab.log", "w")
    proc = subprocess.Popen(
        [exe, "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.token={token}",
         f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={base / 'workspaces'}", "--LabApp.expose_app_in_browser=True",
         "--JupyterNotebookApp.expose_app_in_browser=True",  # Notebook 7's UI at /notebooks/ (when installed)
         "--LabApp.news_url=", "--KernelSpecManager.ensure_native_kernel=False", "--ServerApp.port_retries=0"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not start:\n" + (base / "jupyterlab.log").read_text()[-3000:])
            time.sleep(0.5)
        yield {"url": url, "token": token, "root": root, "log": base / "jupyterlab.log", "proc": proc, "env": env}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from browser_support import playwright  # the process's one Playwright driver (shared with other modules)

    b = playwright().chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()


class Lab:
    """One JupyterLab tab: the notebook panel through ``window.jupyterapp`` (expose_app_in_browser)."""

    def __init__(self, page, lab):
        self.page, self.lab = page, lab
        self.blocked: list[str] = []
        self.console_errors: list[str] = []

    # -- notebook state ----------------------------------------------------------------------------------------
    def wait_kernel(self, timeout=180):
        self.page.wait_for_function(
            """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                      const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                      return !!k && k.status === 'idle'; }""", timeout=timeout * 1000)

    def wait_idle(self, timeout):
        """Until every code cell has run (an execution count, no pending prompt) and the kernel is idle."""
        self.page.wait_for_function(
            """() => { const w = window.jupyterapp.shell.currentWidget;
                      const k = w.sessionContext.session && w.sessionContext.session.kernel;
                      if (!k || k.status !== 'idle') return false;
                      const cells = w.content.widgets.filter(c => c.model.type === 'code');
                      return cells.every(c => c.model.executionCount !== null && !c.promptNode?.textContent.includes('*')); }""",
            timeout=timeout * 1000, polling=1000)

    def outputs(self) -> list[dict]:
        return self.page.evaluate(
            """() => window.jupyterapp.shell.currentWidget.content.widgets
                 .map((c, i) => ({i, type: c.model.type, id: c.model.id,
                                  outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : []}))""")

    def run_all(self, timeout=RUN_TIMEOUT):
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        self.page.wait_for_timeout(1000)
        self.wait_idle(timeout)

    def run_code(self, source: str, timeout=120) -> dict:
        """Append a code cell at the end, run it, return its outputs (nbformat JSON)."""
        n = self.page.evaluate(
            """(src) => { const nb = window.jupyterapp.shell.currentWidget.content, m = nb.model;
                          m.sharedModel.insertCell(m.cells.length, {cell_type: 'code', source: src});
                          nb.activeCellIndex = m.cells.length - 1; nb.mode = 'command';
                          window.jupyterapp.commands.execute('notebook:run-cell');
                          return m.cells.length - 1; }""", source)
        self.page.wait_for_timeout(300)
        self.wait_idle(timeout)
        cell = self.outputs()[n]
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert not errors, f"{source!r} raised: {errors[0]['ename']}: {errors[0]['evalue']}"
        return cell

    def text_of(self, cell: dict) -> str:
        return "".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                       for o in cell["outputs"] if o["output_type"] == "stream")

    def shot(self, name):
        if SHOTS:
            pathlib.Path(SHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(pathlib.Path(SHOTS) / f"{name}.png"))


def open_notebook(browser, lab, name, workspace=None, ui="lab") -> Lab:
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    tab = Lab(page, lab)

    def route(r):
        u = r.request.url
        if u.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")):
            return r.continue_()
        tab.blocked.append(u)
        return r.abort()

    ctx.route("**/*", route)
    page.on("console", lambda m: tab.console_errors.append(m.text) if m.type == "error" else None)
    ws = workspace or f"t{secrets.token_hex(4)}"
    if ui == "notebook7":
        page.goto(f"{lab['url']}/notebooks/{name}.ipynb?token={lab['token']}")
    else:
        page.goto(f"{lab['url']}/lab/workspaces/{ws}/tree/{name}.ipynb?reset&token={lab['token']}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
                           "window.jupyterapp.shell.currentWidget.content && window.jupyterapp.shell.currentWidget.context.isReady",
                           timeout=60_000)
    return tab


@pytest.fixture(scope="module", params=list(NOTEBOOKS), ids=list(NOTEBOOKS))
def ran(request, browser, lab):
    """A chapter opened in JupyterLab with all cells run."""
    name = request.param
    tab = open_notebook(browser, lab, name)
    tab.wait_kernel()
    tab.run_all()
    tab.shot(f"{name}-ran")
    yield name, tab
    tab.page.context.close()


# --------------------------------------------------------------------------------------------- helpers
ROOTS = ".jp-OutputArea .convviz-explorer"


def view_text(page, index: int) -> dict:
    """What an explorer shows as text: the formula block, the linked-view detail, slider values."""
    return page.evaluate(
        """(i) => { const r = document.querySelectorAll('.jp-OutputArea .convviz-explorer')[i];
                    const t = (s) => [...r.querySelectorAll(s)].map(e => e.textContent).join(' | ');
                    return {formula: t('.cvx-formula'), detail: t('.cvx-detail'), error: t('.cvx-error:not([hidden])').trim(),
                            sliders: Object.fromEntries([...r.querySelectorAll('.cvx-controls input[type=range]')]
                                        .filter(e => !e.disabled).map(e => [e.name, Number(e.value)]))}; }""", index)


# one_explorer.ipynb's explorer (explore_conv() defaults: Dumoulin & Visin's 5x5 input and 3x3 kernel)
ONE_X = cw.BASE_X[None, :1, :5, :5].astype(float)
ONE_W = cw.BASE_W[:1, :1, :3, :3].astype(float)


def output_values(page, index: int):
    """The first output grid's numbers (data-values of canvas y0) of explorer ``index``."""
    return np.asarray(page.evaluate(
        """(i) => JSON.parse(document.querySelectorAll('.jp-OutputArea .convviz-explorer')[i]
                             .querySelector('canvas[data-grid=y0]').dataset.values)""", index), dtype=float)


def movable_slider(page, index: int):
    """A slider of explorer ``index`` that can move right (stride preferred: it changes every number)."""
    root = page.locator(ROOTS).nth(index)
    for name in ("stride", "padding", "dilation", "kernel_size", "input_size"):
        s = root.locator(f".cvx-controls input[type=range][name={name}]")
        if s.count() and s.first.is_enabled() and s.first.is_visible():
            v, hi = s.first.evaluate("e => [Number(e.value), Number(e.max)]")
            if v < hi:
                return name, s.first
    pytest.fail(f"explorer {index}: no enabled slider that can move")


def arrow_right(page, index: int):
    """ArrowRight on a movable slider of explorer ``index``: (slider name, view before, view after)."""
    page.locator(ROOTS).nth(index).scroll_into_view_if_needed()
    slider_name, slider = movable_slider(page, index)
    before = view_text(page, index)
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    return slider_name, before, view_text(page, index)


# --------------------------------------------------------------------------------------------- tests
def test_run_all_without_errors_or_stderr(ran):
    name, tab = ran
    cells = tab.outputs()
    errors = [f"cell {c['i']}: {o['ename']}: {o['evalue']}" for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{name}: cells raised:\n" + "\n".join(errors)
    stderr = [f"cell {c['i']}: {''.join(o['text'])[:400]}" for c in cells for o in c["outputs"]
              if o["output_type"] == "stream" and o["name"] == "stderr"]
    assert not stderr, f"{name}: cells printed on stderr (a pink box in JupyterLab):\n" + "\n".join(stderr)
    assert not tab.blocked, f"{name}: requests leaving 127.0.0.1: {tab.blocked[:10]}"


def test_explorers_render(ran):
    name, tab = ran
    page = tab.page
    n = page.locator(ROOTS).count()
    assert n >= 1, f"{name}: no .convviz-explorer in the outputs; widget errors: " + str(
        page.locator(".jp-OutputArea :text('Error displaying widget')").all_inner_texts()[:3])
    blank = []
    for i in range(n):
        page.locator(ROOTS).nth(i).scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        v = view_text(page, i)
        assert v["formula"].strip(), f"{name}: explorer {i} shows no formula"
        assert not v["error"], f"{name}: explorer {i} shows an error: {v['error']}"
        # every grid is drawn: a canvas with cells, numbers and outlines has many colours, not one fill
        colours = page.evaluate(
            """(i) => [...document.querySelectorAll('.jp-OutputArea .convviz-explorer')[i].querySelectorAll('canvas.cvx-grid')]
                   .map(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, seen = new Set();
                               for (let j = 0; j < d.length; j += 4 * 7) seen.add((d[j] << 16) | (d[j + 1] << 8) | d[j + 2]);
                               return [c.dataset.grid, seen.size]; })""", i)
        blank += [f"explorer {i} grid {g}: {k} colour(s)" for g, k in colours if k < 4]
    tab.shot(f"{name}-explorer0")
    # nothing above an explorer shifts it once the notebook has run (a late-growing output above makes
    # the first drag miss): its position in the notebook stays put over two seconds
    where = """() => { const nb = window.jupyterapp.shell.currentWidget.content.node;
                       return [...document.querySelectorAll('.jp-OutputArea .convviz-explorer')]
                         .map(r => Math.round(r.getBoundingClientRect().top - nb.getBoundingClientRect().top + nb.scrollTop)); }"""
    top0 = page.evaluate(where)
    page.wait_for_timeout(2000)
    top1 = page.evaluate(where)
    assert top0 == top1, f"{name}: explorers moved after load (content above them grew): {top0} -> {top1}"
    assert not blank, f"{name}: grids drawn blank (one flat fill) after run-all and scrolling into view: {blank}"


def test_keyboard_moves_a_slider_and_the_kernel_sees_it(ran):
    name, tab = ran
    page = tab.page
    for i in range(page.locator(ROOTS).count()):
        slider_name, before, after = arrow_right(page, i)
        assert after["sliders"][slider_name] == before["sliders"][slider_name] + 1, \
            f"{name}: ArrowRight on the {slider_name} slider of explorer {i} did not move it ({before['sliders']} -> {after['sliders']})"
        # the numbers change, or (ch3's TF SAME explorers: stride 3 cannot reach their output_size) the
        # explorer shows convviz's message for the new combination, as the pointer test accepts too
        assert after["formula"] != before["formula"] or after["error"], \
            f"{name}: explorer {i}: neither the numbers nor the message changed after {slider_name}+1"
        # the keys stayed in the explorer: JupyterLab did not leave command mode / move the cell selection
        assert page.evaluate("() => document.activeElement && document.activeElement.name") == slider_name
    tab.shot(f"{name}-keyboard")
    # the widget's trait followed the slider (explorer 0: the notebook keeps no name for it, so find it)
    cell = tab.run_code(
        "import ipywidgets.widgets.widget as _ww, convviz.widgets as _cw\n"
        "_live = getattr(_ww, '_instances', None) or _ww.Widget.widgets  # ipywidgets 8 / 7\n"
        "print([{k: getattr(e, k) for k in ('input_size', 'kernel_size', 'stride', 'padding', 'dilation')}\n"
        "       for e in list(_live.values()) if isinstance(e, _cw.Explorer)])")
    assert str(after["sliders"][slider_name]) in tab.text_of(cell)


def test_pointer_moves_a_slider_and_hover_links_cells(ran):
    name, tab = ran
    page = tab.page
    for i in range(page.locator(ROOTS).count()):
        root = page.locator(ROOTS).nth(i)
        root.scroll_into_view_if_needed()
        slider_name, slider = movable_slider(page, i)
        before = view_text(page, i)
        slider.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        box = slider.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 4, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] - 2, y, steps=8)  # drag to the right end
        page.mouse.up()
        page.wait_for_timeout(300)
        after = view_text(page, i)
        box_after = slider.bounding_box()
        hit = page.evaluate("([x, y]) => { const e = document.elementFromPoint(x, y); return e ? e.outerHTML.slice(0, 120) : null; }",
                            [box["x"] + 4, y])
        assert after["sliders"][slider_name] > before["sliders"][slider_name], (
            f"{name}: dragging the {slider_name} slider of explorer {i} did not move it "
            f"(slider box before the drag {box}, after {box_after}; now under the press point: {hit})")
        assert after["formula"] != before["formula"] or after["error"], f"{name}: explorer {i}: nothing changed after the drag"
        # hovering a grid cell shows the linked detail (which window / which outputs)
        canvas = root.locator("canvas.cvx-grid").first
        canvas.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        cbox = canvas.bounding_box()
        d0 = view_text(page, i)["detail"]
        details = set()
        for fx, fy in ((0.1, 0.1), (0.9, 0.9), (0.5, 0.1)):
            page.mouse.move(cbox["x"] + fx * cbox["width"], cbox["y"] + fy * cbox["height"])
            page.wait_for_timeout(150)
            details.add(view_text(page, i)["detail"])
        assert details - {d0, ""}, f"{name}: hovering explorer {i}'s first grid shows no linked detail"
    tab.shot(f"{name}-pointer")


def test_setting_a_trait_from_python_redraws(ran):
    name, tab = ran
    page = tab.page
    fn = NOTEBOOKS[name]
    n0 = page.locator(ROOTS).count()
    tab.run_code(f"from convviz.widgets import {fn}\nw = {fn}(stride=1)\nw")
    page.wait_for_function(f"() => document.querySelectorAll('{ROOTS}').length > {n0}", timeout=30_000)
    page.locator(ROOTS).nth(n0).scroll_into_view_if_needed()
    before = view_text(page, n0)
    assert before["sliders"]["stride"] == 1
    tab.run_code("w.stride = 2")
    page.wait_for_function(
        f"() => Number(document.querySelectorAll('{ROOTS}')[{n0}].querySelector('input[name=stride]').value) === 2",
        timeout=10_000)
    after = view_text(page, n0)
    assert after["formula"] != before["formula"], f"{name}: w.stride = 2 did not change the displayed numbers"
    tab.run_code('w.update(padding="same")')
    page.wait_for_timeout(300)
    assert view_text(page, n0)["formula"] != after["formula"]
    # an invalid value from Python: the explorer names the parameter and stays usable
    tab.run_code("w.kernel_size = 9")
    page.wait_for_timeout(300)
    bad = view_text(page, n0)
    assert "kernel_size" in bad["error"], f"{name}: no message for kernel_size = 9: {bad}"
    tab.run_code("w.kernel_size = 3")
    page.wait_for_timeout(300)
    assert not view_text(page, n0)["error"]
    tab.shot(f"{name}-python-trait")


def test_saved_notebook_reopened_without_a_kernel(ran, browser, lab):
    """Save, then open the saved file where no kernel can start: where JupyterLab's widget view waits for a
    kernel forever ("Loading widget...", ipywidgets#3773), the stand-in output after each explorer
    (convviz.widgets.nokernel_html) mounts the book's static explorer, live, and hides the dead view."""
    name, tab = ran
    tab.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    tab.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    saved = json.loads((lab["root"] / f"{name}.ipynb").read_text(encoding="utf-8"))
    widget_outputs = [o for c in saved["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
                      if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widget_outputs, f"{name}: the saved notebook holds no widget output"
    # a copy whose kernel cannot start (JupyterLab then offers "No Kernel")
    # (an unknown language too: JupyterLab would otherwise start the python3 kernel for it)
    saved["metadata"]["kernelspec"] = {"name": "no-such-kernel", "display_name": "none", "language": "no-such-language"}
    saved["metadata"].pop("language_info", None)
    reopened = f"{name}-reopened"
    path = lab["root"] / f"{reopened}.ipynb"
    path.write_text(json.dumps(saved, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    # signed with the server's secret, as JupyterLab signs what the reader saves: the copy stays trusted
    # (its HTML outputs may run scripts, as the original's would)
    subprocess.run([str(pathlib.Path(sys.executable).with_name("jupyter-trust")), str(path)], env=lab["env"],
                   check=True, capture_output=True)
    other = open_notebook(browser, lab, reopened)
    try:
        page = other.page
        dialog = page.locator(".jp-Dialog")
        try:
            dialog.wait_for(timeout=10_000)
            page.keyboard.press("Escape")  # "No Kernel"
        except Exception:
            pass
        page.wait_for_timeout(3000)
        # the output areas of the cells that call an explorer
        shown = page.evaluate(
            """() => window.jupyterapp.shell.currentWidget.content.widgets
                  .filter(c => c.model.type === 'code' && /explore_(conv|transpose|gradient)\\(/.test(c.model.sharedModel.getSource()))
                  .map(c => { const o = c.node.querySelector('.jp-OutputArea');
                              c.node.scrollIntoView();
                              return {text: o ? o.innerText.trim().slice(0, 200) : null,
                                      live: !!(o && o.querySelector('.convviz-explorer')),
                                      mime: o ? [...o.querySelectorAll('.jp-OutputArea-output')].map(e => e.dataset.mimeType || '?').join(',') : '',
                                      saved: c.model.outputs.toJSON().map(x => Object.keys(x.data || {}).join('+')).join(',')}; })""")
        page.wait_for_timeout(500)
        kernel = page.evaluate("() => { const s = window.jupyterapp.shell.currentWidget.sessionContext;"
                               " return s.session && s.session.kernel ? s.session.kernel.name : null; }")
        assert kernel is None, f"a kernel ({kernel}) started for the reopened copy"
        trusted = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets"
                                ".filter(c => c.model.type === 'code').every(c => c.model.trusted)")
        other.shot(f"{name}-reopened")
        print(f"\n{name} reopened without a kernel (trusted: {trusted}): {len(shown)} explorer output(s): {shown}")
        errors = [s for s in shown if "Error displaying widget" in s["text"] or "model not found" in s["text"]]
        assert shown, f"{name}: no cell calls an explorer"
        assert all(s["text"] or s["live"] for s in shown), f"{name}: the reopened notebook shows nothing where the explorers were: {shown}"
        assert not errors, (f"{name}: reopened without a kernel, the explorer output shows {errors[0]['text']!r}: "
                            "it needs a static fallback (the offline mount the book uses)")
        assert all(s["live"] for s in shown), f"{name}: reopened without a kernel the explorer is not live: {shown}"
        assert not any("Loading widget" in s["text"] for s in shown), f"{name}: the dead widget output still shows: {shown}"
        # and it is live: ArrowRight on a slider moves it and changes the numbers (or shows convviz's message)
        assert page.locator(".convviz-explorer-nokernel .convviz-explorer").count() == len(shown)
        slider_name, before, after = arrow_right(page, 0)
        assert after["sliders"][slider_name] == before["sliders"][slider_name] + 1, (before, after)
        assert after["formula"] != before["formula"] or after["error"], (before, after)
    finally:
        other.page.context.close()


@pytest.mark.parametrize("ui", ["lab", "notebook7"])
def test_keyboard_stays_in_the_explorer(browser, lab, ui):
    """JupyterLab and Notebook 7 bind the arrow keys (cell selection) in command mode: with the focus on
    an explorer slider or grid, the keys must move the explorer, not the notebook."""
    if ui == "notebook7":
        try:
            urllib.request.urlopen(f"{lab['url']}/notebooks/one_explorer.ipynb?token={lab['token']}", timeout=5)
        except OSError:
            pytest.skip("Notebook 7 (the notebook package) is not installed next to JupyterLab")
    tab = open_notebook(browser, lab, "one_explorer", ui=ui)
    try:
        page = tab.page
        tab.wait_kernel()
        tab.run_all(timeout=180)
        page.wait_for_selector(ROOTS, timeout=30_000)
        slider = page.locator(ROOTS).first.locator(".cvx-controls input[type=range][name=stride]")
        before = view_text(page, 0)
        active0 = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex")
        slider.focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
        after = view_text(page, 0)
        focused = page.evaluate("() => document.activeElement && document.activeElement.outerHTML.slice(0, 80)")
        active1 = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex")
        problems = []
        if after["sliders"]["stride"] != before["sliders"]["stride"] + 2 or after["formula"] == before["formula"]:
            problems.append(f"ArrowRight x2 on the focused stride slider left it at {after['sliders']['stride']} "
                            f"(focus on {focused}; active cell {active0} -> {active1})")
        if active1 != active0:
            problems.append(f"the arrow keys moved the notebook's cell selection ({active0} -> {active1})")
        # a grid cell: arrow keys walk the cells and the linked detail follows
        canvas = page.locator(ROOTS).first.locator("canvas.cvx-grid").first
        canvas.focus()
        page.keyboard.press("ArrowRight")
        d1 = view_text(page, 0)["detail"]
        page.keyboard.press("ArrowDown")
        page.wait_for_timeout(200)
        d2 = view_text(page, 0)["detail"]
        if not (d1 and d2 and d1 != d2):
            problems.append(f"arrow keys on a focused grid do not move the linked cell ({d1[:60]!r} -> {d2[:60]!r})")
        active2 = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex")
        if active2 != active0:
            problems.append(f"arrow keys on a grid moved the notebook's cell selection ({active0} -> {active2})")
        tab.shot(f"{ui}-keyboard")
        assert not problems, f"{ui}: " + "; ".join(problems)
        # the numbers shown are convviz's for the new stride, and the kernel sees it
        assert after["sliders"]["stride"] == 3
        assert np.array_equal(output_values(page, 0), cv.conv2d(ONE_X, ONE_W, 3, 0, 1)[0, 0])
        cell = tab.run_code("print(w.stride)")
        assert tab.text_of(cell).strip() == str(after["sliders"]["stride"])
        # a trait set from Python after the display: the view shows convviz's numbers for it
        tab.run_code("w.stride = 2")
        page.wait_for_function(f"() => Number(document.querySelector('{ROOTS} input[name=stride]').value) === 2",
                               timeout=10_000)
        page.wait_for_timeout(200)
        assert np.array_equal(output_values(page, 0), cv.conv2d(ONE_X, ONE_W, 2, 0, 1)[0, 0])
        explorer_errors = [m for m in tab.console_errors if "convviz" in m.lower() or "explorer" in m.lower()]
        assert not explorer_errors, f"{ui}: console errors from the explorer: {explorer_errors[:5]}"
        assert not tab.blocked, f"{ui}: requests leaving 127.0.0.1: {tab.blocked[:10]}"
    finally:
        tab.page.context.close()
