// Static-page mount of the convviz explorer (no kernel, no widget manager, no network).
//
// Each <div class="convviz-explorer-static"> holds a <script type="application/json"> with the widget's
// traits (written by convviz.widgets); this builds a small local model with anywidget's interface
// (get / set / on("change:x") / off / save_changes) from it and calls the same render() as Jupyter.
import explorer from "./explorer.js";

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
    if (!script) continue;
    host.dataset.mounted = "1";
    const model = localModel(JSON.parse(script.textContent));
    const el = document.createElement("div");
    host.querySelector(".convviz-explorer-fallback")?.remove();
    host.appendChild(el);
    host.convvizModel = model; // a hook for tests and the curious reader's console
    explorer.render({ model, el });
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => mountAll());
else mountAll();
