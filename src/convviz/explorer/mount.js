// Static-page mount of the convviz explorer (no kernel, no widget manager, no network).
//
// Each <div class="convviz-explorer-static"> holds a <script type="application/json"> with the widget's
// traits (written by convviz.widgets); this builds a small local model with anywidget's interface
// (get / set / on("change:x") / off / save_changes) from it and calls the same render() as Jupyter.
// A trait given as {"$shared": id} is the JSON of <script type="application/json" id=id> (the book writes the
// sample data that all explorers of a page share once: _ext/convviz_html.py).
//
// The book loads this file as an async, render-blocking module: it can run while the page is still being
// parsed, so it mounts the explorers already read and then each one as soon as the parser has read it
// (a MutationObserver), until DOMContentLoaded: the first frame the reader sees has the live explorers, not
// their placeholders, and nothing below them shifts when they appear.
import explorer from "./explorer.js";

const sharedText = new Map();

function resolveShared(state, doc) {
  for (const [name, value] of Object.entries(state)) {
    if (value && typeof value === "object" && !Array.isArray(value) && typeof value.$shared === "string"
        && Object.keys(value).length === 1) {
      if (!sharedText.has(value.$shared)) {
        const script = (doc.ownerDocument || doc).getElementById(value.$shared);
        sharedText.set(value.$shared, script ? script.textContent : "null");
      }
      state[name] = JSON.parse(sharedText.get(value.$shared)); // each explorer its own copy
    }
  }
  return state;
}

// a host's config is complete once the parser has gone past its <script> (or has finished)
const parsed = (host, script, doc) =>
  (doc.ownerDocument || doc).readyState !== "loading" || script.nextSibling || host.nextSibling;

export function localModel(state) {
  const handlers = new Map();
  return {
    get: (name) => state[name],
    set(name, value) {
      const old = state[name];
      state[name] = value;
      if (JSON.stringify(old) !== JSON.stringify(value))
        for (const cb of [...(handlers.get(`change:${name}`) || [])]) cb({ name, old, new: value });
    },
    on(event, cb) { for (const ev of event.split(" ")) { if (!handlers.has(ev)) handlers.set(ev, new Set()); handlers.get(ev).add(cb); } },
    off(event, cb) {
      if (!event) { handlers.clear(); return; }
      for (const ev of event.split(" ")) { if (cb) handlers.get(ev)?.delete(cb); else handlers.delete(ev); }
    },
    save_changes() {},
    send() {},
    state,
  };
}

export function mountAll(doc = document) {
  for (const host of doc.querySelectorAll(".convviz-explorer-static:not([data-mounted])")) {
    const script = host.querySelector('script[type="application/json"]');
    if (!script || !parsed(host, script, doc)) continue;
    host.dataset.mounted = "1";
    const model = localModel(resolveShared(JSON.parse(script.textContent), doc));
    const el = document.createElement("div");
    host.querySelector(".convviz-explorer-fallback")?.remove();
    host.appendChild(el);
    host.convvizModel = model; // a hook for tests and the curious reader's console
    // unmount(): what an explorer that is taken off the page calls (its observers and listeners go with it)
    const cleanup = explorer.render({ model, el });
    host.convvizUnmount = () => { if (typeof cleanup === "function") cleanup(); };
  }
}

if (document.readyState === "loading") {
  const watch = new MutationObserver(() => mountAll());
  watch.observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", () => { watch.disconnect(); mountAll(); });
}
mountAll();
