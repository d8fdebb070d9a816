// The explorer's stand-in for JupyterLab and Notebook 7 without a kernel (a classic script, run from the
// hidden output that convviz.widgets.nokernel_html writes right after each explorer's widget output).
//
// JupyterLab renders the widget output with the widget manager, which needs a kernel: a saved notebook
// reopened without one shows "Loading widget..." forever (or "Error displaying widget: model not found"),
// and the widget bundle's text/html is never shown (ipywidgets#3773). This script watches that widget
// output: while it is live (it holds a .convviz-explorer) the stand-in stays hidden and empty; when it
// cannot render, the stand-in mounts the book's static explorer (mount.js on the same explorer module,
// carried base64 in data attributes) from the config in its <template>, and hides the dead widget output.
// Outside a JupyterLab output area (Colab, VS Code, nbviewer) it removes itself.
(function (script) {
  "use strict";
  const box = script && script.parentElement;
  const child = box && box.closest(".jp-OutputArea-child");
  if (!child) { if (box) box.remove(); return; }
  // the widget's output: convviz.widgets displays the stand-in right after it (JupyterLab marks neither
  // with its mime type while the widget view is loading)
  const widget = () => {
    const c = child.previousElementSibling;
    return c && c.classList.contains("jp-OutputArea-child") ? c : null;
  };
  const live = (w) => !!(w && w.querySelector(".convviz-explorer"));
  const failed = (w) => !!(w && /Error displaying widget/.test(w.textContent));
  const noKernel = () => {  // the notebook's kernel indicator (JupyterLab and Notebook 7 toolbars)
    const panel = box.closest(".jp-NotebookPanel") || document;
    const name = panel.querySelector(".jp-KernelName, .jp-Toolbar-kernelName");
    return !!name && /no kernel/i.test(name.textContent);
  };
  const decode = (b64) => new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  const blob = (text) => URL.createObjectURL(new Blob([text], { type: "text/javascript" }));

  function mountModule() {  // one module per page, shared by every stand-in
    if (!window.__convvizNoKernelMount) {
      const esm = blob(decode(box.dataset.esm));
      const mount = decode(box.dataset.mount).replace('"./explorer.js"', JSON.stringify(esm));
      window.__convvizNoKernelMount = import(blob(mount));
    }
    return window.__convvizNoKernelMount;
  }

  let shown = false;
  async function show() {
    if (shown) return;
    shown = true;
    const w = widget();
    if (w) w.style.display = "none";
    box.appendChild(box.querySelector("template").content.cloneNode(true));
    box.hidden = false;
    const mod = await mountModule();
    mod.mountAll(box);
  }
  function hide() {
    if (!shown) return;
    shown = false;
    for (const h of box.querySelectorAll(".convviz-explorer-static")) if (h.convvizUnmount) h.convvizUnmount();
    for (const el of [...box.children]) if (!["TEMPLATE", "SCRIPT"].includes(el.tagName)) el.remove();
    box.hidden = true;
    const w = widget();
    if (w) w.style.display = "";
  }

  const start = Date.now();
  let observer = null, timer = null;
  const stop = () => { if (observer) observer.disconnect(); clearInterval(timer); };
  function decide() {
    if (!box.isConnected) { stop(); return; }
    const w = widget();
    // a live widget view wins for good (the stand-in steps aside even after it has mounted)
    if (live(w)) { hide(); stop(); return; }
    if (failed(w) || noKernel() || Date.now() - start > 5000) show();
  }
  observer = new MutationObserver(decide);
  observer.observe(child.parentElement, { childList: true, subtree: true, characterData: true });
  timer = setInterval(decide, 500);
  decide();
})(document.currentScript);
