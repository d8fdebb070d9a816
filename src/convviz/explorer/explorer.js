// convviz explorer view: the anywidget ES module (export default { render({ model, el }) }).
//
// The same module runs in Jupyter (anywidget's model, synced with the Python traits of
// convviz.widgets) and in the static book (mount.js builds a small local model from a JSON config).
// All arithmetic comes from core.js; this file only draws SVG/DOM and wires input events.
// Every displayed number is also in the DOM (data-value attributes), so tests read them back.
import { ConvvizError, LIMITS, compute, conv, configFrom, deltaFor, inputFeeds, runningCounts, weightInputs,
         windowOf, zeros3 } from "./core.js";

const PARAMS = ["mode", "input_size", "kernel_size", "stride", "padding", "dilation", "channels", "filters",
                "output_padding", "output_size", "delta", "x", "w", "role"];
const ARROWS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
const MAX_TERMS = 27;
const NUM_CELLS = 144;   // a grid with more cells shows no numbers (the value is the fill's strength)
const NUM_BUDGET = 640;  // numbered cells per explorer: keeps a parameter change within one frame

// Lumino (JupyterLab, Notebook 7) matches its key bindings from the event target upwards and stops at the
// first element carrying data-lm-suppress-shortcuts. Notebook 7 listens on document in the capture phase
// (before any handler of ours runs), and the command-mode arrow bindings' selector ends in ":focus", which
// the focused slider itself matches: the attribute must be on every focusable element, not only the root.
const SUPPRESS = "data-lm-suppress-shortcuts";
function keepKeys(container) {
  for (const e of container.querySelectorAll("input, select, button, textarea, canvas, [tabindex]")) e.setAttribute(SUPPRESS, "true");
}
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
function fmt(v) {
  if (v === null || v === undefined) return "";
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}
const pyPad = (p) => (Array.isArray(p) ? "(" + p.join(", ") + ")" : typeof p === "string" ? `"${p}"` : String(p));
const pairText = (v) => (v[0] === v[1] ? String(v[0]) : `(${v[0]}, ${v[1]})`);

// ------------------------------------------------------------------------------------- grids
// Each grid is one <canvas> (a parameter change redraws thousands of cells within a frame, which SVG
// elements could not). Its numbers stay in the DOM: data-values (JSON rows) and data-marks (highlights).

/** Grid data from a spec {key, rows, cols, cell, value(r, c), cls(r, c), label, budget}. */
function gridData(spec) {
  const { key, rows, cols, cell } = spec;
  const vals = [], cls = [];
  let lo = Infinity, hi = -Infinity;
  for (let r = 0; r < rows; r++) {
    const rv = new Array(cols), rc = new Array(cols);
    for (let c = 0; c < cols; c++) {
      const v = spec.value(r, c);
      rv[c] = v; rc[c] = spec.cls(r, c);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    vals.push(rv); cls.push(rc);
  }
  // numbers in cells at small sizes; larger grids show the value as the strength of the fill
  const showNums = cell >= 15 && rows * cols <= NUM_CELLS && (spec.budget ? spec.budget.take(rows * cols) : true);
  const sig = `${rows}x${cols}@${cell}${showNums ? "n" : ""}|${vals.join(";")}|${cls.join(";")}`;
  return { key, label: spec.label, rows, cols, cell, vals, cls, showNums, lo, hi, sig };
}

function canvasHTML(d) {
  const W = d.cols * d.cell + 2, H = d.rows * d.cell + 2;
  return `<canvas class="cvx-grid" data-grid="${d.key}" data-cell="${d.cell}" data-rows="${d.rows}" data-cols="${d.cols}" ` +
    `width="${W}" height="${H}" style="width:${W}px;height:${H}px" tabindex="0" role="img" ${SUPPRESS}="true" ` +
    `aria-label="${esc(d.label)}: ${d.rows} by ${d.cols}; arrow keys move the cursor, the line below the grids shows its value"></canvas>`;
}

let BUDGET = null, BUILT = null; // per drawPanels call: the numbers budget, and {grids: key -> data, captions}
function figureHTML(title, grids, cls = "") {
  BUILT.captions.push(title);
  const body = grids.map((g) => {
    g.budget = BUDGET;
    const d = gridData(g);
    BUILT.grids.set(g.key, d);
    return `<div class="cvx-gwrap" data-key="${g.key}"><div class="cvx-glabel">${esc(g.label)}</div>${canvasHTML(d)}</div>`;
  }).join("");
  return `<figure class="cvx-fig ${cls}"><figcaption>${title}</figcaption><div class="cvx-figgrids">${body}</div></figure>`;
}

// colours: the CSS variables of the root (role colours from convviz.style, theme-dependent surfaces)
function parseColor(s) {
  s = (s || "").trim();
  if (s[0] === "#") {
    const h = s.length === 4 ? s.slice(1).split("").map((c) => c + c).join("") : s.slice(1, 7);
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  }
  const m = s.match(/[\d.]+/g);
  return m ? m.slice(0, 3).map(Number) : [128, 128, 128];
}
const mixRGB = (a, b, t) => `rgb(${[0, 1, 2].map((i) => Math.round(a[i] * t + b[i] * (1 - t))).join(",")})`;
// explorer.css's light defaults: used while the root's style cannot be read (not attached to the document
// yet, or the stylesheet not applied yet); such a palette is provisional and is re-read once it can be
const FALLBACK = { bg: "#ffffff", text: "#111111", muted: "#5a5a5a", line: "#6e6e6e", input: "#0077BB", kernel: "#EE7733",
                   output: "#009988", padding: "#BBBBBB", gradient: "#AA3377", highlight: "#CC3311", overlap: "#332288" };
function palette(root, colors = {}) {
  const cs = root.isConnected ? getComputedStyle(root) : null;
  const P = { complete: !!cs };
  const v = (n) => {
    const s = cs ? cs.getPropertyValue(`--cvx-${n}`).trim() : "";
    if (s) return parseColor(s);
    P.complete = false;
    return parseColor(colors[n] || FALLBACK[n]);
  };
  for (const n of ["input", "kernel", "output", "padding", "gradient", "highlight", "overlap", "bg", "text", "muted", "line"]) P[n] = v(n);
  P.mix = (cs && parseFloat(cs.getPropertyValue("--cvx-mix")) / 100) || 0.24;
  P.css = (n) => `rgb(${P[n].join(",")})`;
  const hatch = (bgT, lineW) => {
    const off = document.createElement("canvas");
    off.width = off.height = 8;
    const g = off.getContext("2d");
    g.fillStyle = mixRGB(P.padding, P.bg, bgT); g.fillRect(0, 0, 8, 8);
    g.strokeStyle = mixRGB(P.padding, P.bg, P.mix > 0.3 ? 0.45 : 1); g.lineWidth = lineW; // softer on dark
    g.beginPath(); g.moveTo(0, 8); g.lineTo(8, 0); g.moveTo(-2, 2); g.lineTo(2, -2); g.moveTo(6, 10); g.lineTo(10, 6); g.stroke();
    return off;
  };
  const memo = new Map(); // fill strings by (colour, strength in 1/64 steps)
  P.fill = (n, t) => {
    const q = Math.max(0, Math.min(64, Math.round(t * 64))), k = n + q;
    let f = memo.get(k);
    if (!f) { f = mixRGB(P[n], P.bg, q / 64); memo.set(k, f); }
    return f;
  };
  P.hatchPad = hatch(0.3, 1.6);
  P.hatchCrop = hatch(0.0, 1.0);
  return P;
}
const ROLE = { in: "input", k: "kernel", out: "output", grad: "gradient" };
const KINDS = new Map(); // class string -> what drawGrid needs to know about it
function kindOf(cls) {
  let k = KINDS.get(cls);
  if (!k) {
    const w = cls.split(" ");
    k = { role: ROLE[w[0]], pad: w.includes("pad"), crop: w.includes("crop"), ovl: w[0] === "ovl",
          dash: w.includes("ins") || w.includes("opad"), muted: w.includes("pad") || w.includes("ins") || w.includes("crop") };
    KINDS.set(cls, k);
  }
  return k;
}

/** Draw one grid object {canvas, d, marks: Map(index -> Set(cls)), box, cursor} with palette P. */
function drawGrid(g, P) {
  const { d } = g, cell = d.cell, dpr = window.devicePixelRatio || 1;
  const W = d.cols * cell + 2, H = d.rows * cell + 2;
  if (g.canvas.width !== Math.round(W * dpr) || g.canvas.height !== Math.round(H * dpr)) {
    g.canvas.width = Math.round(W * dpr); g.canvas.height = Math.round(H * dpr);
  }
  const x = g.ctx;
  x.setTransform(dpr, 0, 0, dpr, 0, 0);
  x.clearRect(0, 0, W, H);
  if (!g.patterns || g.patterns.P !== P) g.patterns = { P, pad: x.createPattern(P.hatchPad, "repeat"), crop: x.createPattern(P.hatchCrop, "repeat") };
  const span = d.hi > d.lo ? d.hi - d.lo : 1;
  const fs = Math.max(8, Math.min(13, Math.floor(cell * 0.45)));
  const marksJSON = {};
  const strokes = [];
  for (let r = 0; r < d.rows; r++)
    for (let c = 0; c < d.cols; c++) {
      const kd = kindOf(d.cls[r][c]), v = d.vals[r][c], m = g.marks.get(r * d.cols + c);
      const X = 1 + c * cell, Y = 1 + r * cell;
      let fill;
      if (m && m.has("link")) fill = P.fill("highlight", 0.4);
      else if (m && m.has("tap")) fill = P.fill("kernel", 0.55);
      else if (kd.pad) fill = g.patterns.pad;
      else if (kd.crop) fill = g.patterns.crop;
      else if (kd.ovl) fill = P.fill("overlap", Math.min(1, v / 4) * 0.7);
      else if (kd.role) fill = P.fill(kd.role, d.showNums ? P.mix : 0.12 + 0.6 * (v - d.lo) / span);
      else fill = P.fill("bg", 1);
      x.fillStyle = fill;
      x.fillRect(X, Y, cell, cell);
      if (m) for (const k of m) (marksJSON[k] = marksJSON[k] || []).push([r, c]);
      if (kd.dash) strokes.push([X, Y, "dash"]);
      if (m && m.has("kact")) strokes.push([X, Y, "kact"]);
      if (m && m.has("cur")) strokes.push([X, Y, "cur"]);
    }
  // grid lines
  x.strokeStyle = P.css("line"); x.lineWidth = 0.6; x.globalAlpha = 0.8;
  x.beginPath();
  for (let r = 0; r <= d.rows; r++) { x.moveTo(1, 1 + r * cell); x.lineTo(1 + d.cols * cell, 1 + r * cell); }
  for (let c = 0; c <= d.cols; c++) { x.moveTo(1 + c * cell, 1); x.lineTo(1 + c * cell, 1 + d.rows * cell); }
  x.stroke();
  x.globalAlpha = 1;
  if (d.showNums) {
    x.font = `${fs}px ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace`;
    x.textAlign = "center"; x.textBaseline = "middle";
    const muted = P.css("muted"), text = P.css("text");
    for (let r = 0; r < d.rows; r++)
      for (let c = 0; c < d.cols; c++) {
        x.fillStyle = kindOf(d.cls[r][c]).muted ? muted : text;
        x.fillText(fmt(d.vals[r][c]), 1 + c * cell + cell / 2, 1 + r * cell + cell / 2 + 0.5);
      }
  }
  for (const [X, Y, kind] of strokes) {
    if (kind === "dash") { x.setLineDash([3, 2]); x.strokeStyle = P.css("line"); x.lineWidth = 1.2; x.strokeRect(X + 1, Y + 1, cell - 2, cell - 2); x.setLineDash([]); }
    else if (kind === "kact") { x.strokeStyle = P.css("kernel"); x.lineWidth = 2; x.strokeRect(X + 1, Y + 1, cell - 2, cell - 2); }
    else { x.strokeStyle = P.css("highlight"); x.lineWidth = 3; x.strokeRect(X + 1.5, Y + 1.5, cell - 3, cell - 3); }
  }
  if (g.box) {
    const [r0, c0, r1, c1] = g.box;
    x.strokeStyle = P.css("highlight"); x.lineWidth = 2.5;
    x.strokeRect(1 + c0 * cell, 1 + r0 * cell, (c1 - c0 + 1) * cell, (r1 - r0 + 1) * cell);
  }
  if (g.cursor) {
    const [r, c] = g.cursor;
    x.setLineDash([3, 2]); x.strokeStyle = P.css("text"); x.lineWidth = 2;
    x.strokeRect(1 + c * cell + 1, 1 + r * cell + 1, cell - 2, cell - 2); x.setLineDash([]);
  }
  g.canvas.dataset.marks = JSON.stringify(marksJSON);
  if (g.box) g.canvas.dataset.box = g.box.join(","); else delete g.canvas.dataset.box;
}

function cellSize(avail, cols, maxCell = 30) {
  return Math.max(4, Math.min(maxCell, Math.floor((avail - 4) / Math.max(cols, 1))));
}

// ------------------------------------------------------------------------------------- code lines
function codeLines(p, r) {
  const g = r.geom, [t, b, l, rr] = g.pads, S = pairText(g.stride), D = pairText(g.dilation);
  const tfS = S, tfD = D;
  const sym = t === b && l === rr;
  const P = t === l ? String(t) : `(${t}, ${l})`;
  const same = typeof p.padding === "string" && p.padding.toLowerCase() === "same";
  const valid = typeof p.padding === "string" && p.padding.toLowerCase() === "valid";
  const tfPad = same ? '"SAME"' : valid ? '"VALID"' : `[[0, 0], [${t}, ${b}], [${l}, ${rr}], [0, 0]]`;
  const note = g.stride.some((s) => s > 1) && g.dilation.some((d) => d > 1)
    ? "# note: TensorFlow on CPU refuses strides > 1 together with dilations > 1" : "";
  if (p.mode === "transpose") {
    const [FH, FW] = r.fullHW, op = r.outputPadding;
    const simple = sym && !same && (p.output_size === null || p.output_size === undefined);
    const torch = simple
      ? `F.conv_transpose2d(x, w, stride=${S}, padding=${P}, output_padding=${pairText(op)}, dilation=${D})`
      : `F.conv_transpose2d(x, w, stride=${S}, output_padding=${pairText(op)}, dilation=${D})[..., ${t}:${FH - b}, ${l}:${FW - rr}]`;
    const O = r.y.length;
    const tf = `tf.nn.conv2d_transpose(x_nhwc, w_hwoi, output_shape=[1, ${r.outHW[0]}, ${r.outHW[1]}, ${O}], ` +
      `strides=${tfS}, padding=${tfPad}, dilations=${tfD})`;
    return { torch, tf, note };
  }
  const torch = sym ? `F.conv2d(x, w, stride=${S}, padding=${P}, dilation=${D})`
    : `F.conv2d(F.pad(x, (${l}, ${rr}, ${t}, ${b})), w, stride=${S}, dilation=${D})  # asymmetric: pad first`;
  const tf = `tf.nn.conv2d(x_nhwc, w_hwio, strides=${tfS}, padding=${tfPad}, dilations=${tfD})`;
  if (p.mode === "gradient") {
    const [C, H, W] = [r.dx.length, r.dx[0].length, r.dx[0][0].length];
    const dxT = sym ? `torch.nn.grad.conv2d_input((1, ${C}, ${H}, ${W}), w, delta, stride=${S}, padding=${P}, dilation=${D})`
      : `torch.nn.grad.conv2d_input((1, ${C}, ${H + t + b}, ${W + l + rr}), w, delta, stride=${S}, dilation=${D})[..., ${t}:${t + H}, ${l}:${l + W}]`;
    const dwT = sym ? `torch.nn.grad.conv2d_weight(x, w.shape, delta, stride=${S}, padding=${P}, dilation=${D})`
      : `torch.nn.grad.conv2d_weight(F.pad(x, (${l}, ${rr}, ${t}, ${b})), w.shape, delta, stride=${S}, dilation=${D})`;
    return { torch: `dx = ${dxT}\ndw = ${dwT}`, tf: `# forward: ${tf}\n# dx, dw = tape.gradient(y, [x, w], output_gradients=delta)`, note };
  }
  return { torch, tf, note };
}

// ------------------------------------------------------------------------------------- the view
function render({ model, el }) {
  const hatch = "pad", xhatch = "crop"; // hatch kinds (the patterns are drawn in drawGrid)
  const root = document.createElement("div");
  root.className = "convviz-explorer";
  root.setAttribute(SUPPRESS, "true"); // JupyterLab / Notebook 7: keys stay here (see keepKeys)
  el.appendChild(root);
  const mode0 = model.get("mode") || "conv";
  root.dataset.mode = mode0;
  const colors = model.get("colors") || {};
  for (const [k, v] of Object.entries(colors)) root.style.setProperty(`--cvx-${k}`, v);

  const locked = () => !!(model.get("x") && model.get("x").length);
  const ctl = (name, label, lo, hi) =>
    `<label class="cvx-ctl" data-ctl="${name}"><span>${label}</span><input type="range" name="${name}" min="${lo}" max="${hi}" step="1">` +
    `<output></output></label>`;
  const rows = [ctl("input_size", "input size", ...LIMITS.input_size), ctl("kernel_size", "kernel size", ...LIMITS.kernel_size),
    ctl("stride", "stride", ...LIMITS.stride), ctl("dilation", "dilation", ...LIMITS.dilation),
    `<label class="cvx-ctl" data-ctl="padding"><span>padding</span><select name="padding">` +
    ["0", "1", "2", "3", "valid", "same"].map((v) => `<option value="${v}">${v === "same" ? "same (TF)" : v}</option>`).join("") +
    `<option value="custom">per side…</option></select></label>`,
    `<fieldset class="cvx-sides" hidden><legend>padding per side</legend>` +
    ["top", "bottom", "left", "right"].map((s, n) => `<label>${s}<input type="number" min="0" max="6" data-side="${n}"></label>`).join("") +
    `</fieldset>`,
    ctl("channels", mode0 === "transpose" ? "in channels" : "channels", ...LIMITS.channels),
    ctl("filters", mode0 === "transpose" ? "out channels" : "filters", ...LIMITS.filters)];
  if (mode0 === "transpose") {
    rows.push(ctl("output_padding", "output_padding", 0, 3));
    rows.push(`<label class="cvx-ctl" data-ctl="output_size"><span>output size</span><select name="output_size"></select></label>`);
  }
  if (mode0 === "gradient") {
    rows.push(`<label class="cvx-ctl" data-ctl="delta"><span>δ = dL/dy</span><select name="delta">` +
      `<option value="ones">ones</option><option value="random">small integers</option></select></label>`);
  }
  root.innerHTML =
    `<div class="cvx-controls">${rows.join("")}</div>` +
    `<div class="cvx-steprow"><button type="button" class="cvx-prev" aria-label="previous step">◀</button>` +
    `<button type="button" class="cvx-play" aria-pressed="false">play</button>` +
    `<button type="button" class="cvx-next" aria-label="next step">▶</button>` +
    `<label class="cvx-ctl cvx-stepctl"><span>step</span><input type="range" name="step" min="0" max="0" step="1"><output></output></label></div>` +
    `<div class="cvx-error" role="alert" hidden></div>` +
    `<div class="cvx-formula"></div>` +
    `<div class="cvx-panels"></div>` +
    `<div class="cvx-detail" aria-live="polite"></div>` +
    `<div class="cvx-code"></div>`;
  keepKeys(root);
  const $ = (s) => root.querySelector(s);
  const panels = $(".cvx-panels"), detail = $(".cvx-detail"), errorBox = $(".cvx-error");
  const stepInput = $("input[name=step]");
  let state = null;      // {p, cfg, r, steps}
  let grids = {};        // key -> {svg, cells[], rows, cols, cell}
  let marked = [];       // highlighted elements: [el, cls]
  let timer = null, hover = null, lastWidth = 0, lastSig = "", built = new Map();
  let P = null;              // palette (resolved CSS colours); reset when the theme changes
  const dirty = new Set();   // grids to redraw at the next flush()

  // ----------------------------------------------------------------- model <-> controls
  // a model restored from saved widget state without a kernel has no comm: ipywidgets' save_changes then
  // throws ("no comm channel defined"); the view still follows the local value
  const save = () => { try { model.save_changes(); } catch (_) { /* no kernel: local only */ } };
  const set = (name, value) => { model.set(name, value); save(); };
  for (const input of root.querySelectorAll(".cvx-controls input[type=range]")) {
    input.addEventListener("input", () => set(input.name, Number(input.value)));
  }
  $("select[name=padding]").addEventListener("change", (e) => {
    const v = e.target.value;
    if (v === "custom") {
      const pads = state ? state.r.geom.pads : [0, 0, 0, 0];
      set("padding", [...pads]);
    } else set("padding", /^\d+$/.test(v) ? Number(v) : v);
  });
  for (const side of root.querySelectorAll(".cvx-sides input")) {
    side.addEventListener("input", () => {
      const cur = model.get("padding");
      const four = Array.isArray(cur) ? (cur.length === 4 ? [...cur] : [cur[0], cur[0], cur[1], cur[1]]) : [0, 0, 0, 0];
      const v = side.value === "" ? 0 : Number(side.value);
      four[Number(side.dataset.side)] = v;
      set("padding", four);
    });
  }
  const osSel = $("select[name=output_size]");
  if (osSel) osSel.addEventListener("change", () => {
    const v = osSel.value; // read first: setting output_padding redraws the options
    if (v === "") set("output_size", null);
    else { model.set("output_padding", 0); set("output_size", Number(v)); }
  });
  const opIn = $("input[name=output_padding]");
  if (opIn) opIn.addEventListener("input", () => { model.set("output_size", null); set("output_padding", Number(opIn.value)); });
  const dSel = $("select[name=delta]");
  if (dSel) dSel.addEventListener("change", () => set("delta", dSel.value));
  stepInput.addEventListener("input", () => set("step", Number(stepInput.value)));
  $(".cvx-prev").addEventListener("click", () => moveStep(-1));
  $(".cvx-next").addEventListener("click", () => moveStep(1));
  $(".cvx-play").addEventListener("click", () => (timer ? stop() : play()));
  function moveStep(d) {
    if (!state) return;
    set("step", (((model.get("step") || 0) + d) % state.steps + state.steps) % state.steps);
  }
  function play() {
    $(".cvx-play").textContent = "pause"; $(".cvx-play").setAttribute("aria-pressed", "true");
    timer = setInterval(() => moveStep(1), 700);
  }
  function stop() {
    clearInterval(timer); timer = null;
    $(".cvx-play").textContent = "play"; $(".cvx-play").setAttribute("aria-pressed", "false");
  }

  function syncControls(p) {
    for (const input of root.querySelectorAll(".cvx-controls input[type=range]")) {
      const v = p[input.name];
      if (typeof v === "number") input.value = String(v);
      input.nextElementSibling.textContent = typeof v === "number" ? String(v) : "";
    }
    const lk = locked();
    for (const n of ["input_size", "kernel_size", "channels"]) {
      const c = root.querySelector(`[data-ctl=${n}] input`);
      if (c && (n !== "kernel_size" || (model.get("w") && model.get("w").length))) c.disabled = lk;
    }
    const fctl = root.querySelector("[data-ctl=filters] input");
    if (fctl) fctl.disabled = !!(model.get("w") && model.get("w").length);
    const padSel = $("select[name=padding]"), sides = $(".cvx-sides");
    const pv = p.padding;
    const custom = Array.isArray(pv) || (typeof pv === "number" && (pv > 3 || pv < 0));
    padSel.value = custom ? "custom" : typeof pv === "string" ? pv.toLowerCase() : String(pv);
    sides.hidden = !custom;
    if (custom) {
      const four = Array.isArray(pv) ? (pv.length === 4 ? pv : [pv[0], pv[0], pv[1], pv[1]]) : [pv, pv, pv, pv];
      sides.querySelectorAll("input").forEach((inp, n) => { if (document.activeElement !== inp) inp.value = four[n]; });
    }
    if (osSel) {
      const sizes = state && state.r.validSizes ? state.r.validSizes[0] : [];
      const cur = p.output_size;
      const opts = [`<option value="">auto (output_padding)</option>`]
        .concat(sizes.map((s) => `<option value="${s}">${s}</option>`));
      if (cur !== null && cur !== undefined && !sizes.includes(cur)) opts.push(`<option value="${cur}">${cur} (not reachable)</option>`);
      osSel.innerHTML = opts.join("");
      osSel.value = cur === null || cur === undefined ? "" : String(cur);
    }
    if (dSel) dSel.value = p.delta || "ones";
  }

  function params() {
    const p = {};
    for (const k of PARAMS) p[k] = model.get(k);
    p.mode = p.mode || "conv";
    return p;
  }

  function evaluate(p) {
    const base = model.get("base");
    const cfg = configFrom(p, base);
    if (p.mode === "gradient") {
      const f = conv(cfg);
      cfg.delta = deltaFor(p.delta || "ones", base, cfg.w.length, f.geom.outHW[0], f.geom.outHW[1]);
    }
    const r = compute(cfg);
    let steps;
    if (p.mode === "transpose") steps = cfg.x[0].length * cfg.x[0][0].length;
    else steps = cfg.w.length * r.geom.outHW[0] * r.geom.outHW[1];
    return { p, cfg, r, steps };
  }

  // ----------------------------------------------------------------- full redraw (parameters changed)
  function full() {
    const p = params();
    let next;
    try { next = evaluate(p); }
    catch (e) {
      if (!(e instanceof ConvvizError)) throw e;
      showError(e.message);
      syncControls(p);
      return;
    }
    state = next;
    showError("");
    syncControls(p);
    drawPanels();
    const step = Math.min(Math.max(0, model.get("step") || 0), state.steps - 1);
    stepInput.max = String(state.steps - 1);
    if (step !== model.get("step")) { model.set("step", step); save(); }
    drawStep();
    if (hover && grids[hover[0]]) link(...hover);
    flush();
  }

  function showError(msg) {
    errorBox.hidden = !msg;
    errorBox.textContent = msg ? "⚠ " + msg : "";
    root.classList.toggle("cvx-invalid", !!msg);
    if ((model.get("error") || "") !== msg) { model.set("error", msg); save(); }
  }

  let widthNow = 0; // the root's width, kept by the ResizeObserver (reading clientWidth here would force a layout)
  function avail() {
    if (!widthNow) widthNow = root.clientWidth || el.clientWidth || 640;
    lastWidth = widthNow;
    return widthNow;
  }

  function registerOne(canvas) {
    const key = canvas.dataset.grid, d = built.get(key);
    const g = { canvas, ctx: canvas.getContext("2d"), d, marks: new Map(), box: null, cursor: null };
    canvas.dataset.values = JSON.stringify(d.vals);
    grids[key] = g;
    dirty.add(g);
  }
  function register() {
    grids = {};
    for (const c of panels.querySelectorAll("canvas.cvx-grid")) registerOne(c);
  }
  // the palette is kept only once it was read from the attached, styled root; a provisional one (drawn
  // from the model's colors and explorer.css's defaults) is re-read at the next frames until it is complete
  let palTries = 0, palPending = false;
  function pal() {
    if (!P) {
      P = palette(root, model.get("colors") || {});
      if (!P.complete && !palPending) { palPending = true; palTries = 0; requestAnimationFrame(recheckPalette); }
    }
    return P;
  }
  function recheckPalette() {
    palPending = false;
    if (!P || P.complete) return;
    const q = palette(root, model.get("colors") || {});
    if (q.complete) {
      P = q;
      for (const g of Object.values(grids)) dirty.add(g);
      flush();
    } else if (++palTries < 600) { palPending = true; requestAnimationFrame(recheckPalette); } // ~10 s; later redraws retry
  }
  function flush() {
    if (!dirty.size) return;
    const p = pal();
    for (const g of dirty) drawGrid(g, p);
    dirty.clear();
  }

  function drawPanels() {
    const { p, cfg, r } = state, W = avail();
    let left = NUM_BUDGET;
    BUDGET = { take: (n) => (n <= left ? ((left -= n), true) : false) };
    BUILT = { grids: new Map(), captions: [] };
    const narrow = W < 600;
    const mode = p.mode, role = p.role === "gradient" ? "grad" : "in";
    const html = [];
    const [C, H, Wd] = [cfg.x.length, cfg.x[0].length, cfg.x[0][0].length];
    const [kh, kw] = r.geom.kHW;
    const ksz = (n) => cellSize(narrow ? W / 3 : 140, n, 26);
    if (mode === "conv" || mode === "gradient") {
      const g = r.geom, [t, b, l, rr] = g.pads, [Ho, Wo] = g.outHW, O = cfg.w.length;
      const PH = H + t + b, PW = Wd + l + rr;
      const xc = cellSize(narrow ? W - 20 : Math.min(360, (W - 40) * (C > 1 ? 0.5 : 0.45)), PW);
      const xgrids = cfg.x.map((xch, c) => ({ key: `x${c}`, label: `x[${c}]` + (t + b + l + rr ? " padded" : ""),
        rows: PH, cols: PW, cell: xc, hatch,
        value: (i, j) => (i - t >= 0 && i - t < H && j - l >= 0 && j - l < Wd ? xch[i - t][j - l] : 0),
        cls: (i, j) => (i - t >= 0 && i - t < H && j - l >= 0 && j - l < Wd ? "in" : "pad") }));
      const wgrids = [];
      for (let o = 0; o < O; o++) for (let c = 0; c < C; c++)
        wgrids.push({ key: `w${o}_${c}`, label: `w[${o}, ${c}]`, rows: kh, cols: kw, cell: ksz(kw), hatch,
          value: (i, j) => cfg.w[o][c][i][j], cls: () => "k" });
      html.push(figureHTML("input x", xgrids, "cvx-fx"));
      html.push(figureHTML("kernel w", wgrids, "cvx-fw"));
      const oc = cellSize(narrow ? W - 20 : Math.min(300, (W - 40) * 0.3), Wo);
      if (mode === "conv") {
        html.push(figureHTML("output y", r.y.map((ych, o) => ({ key: `y${o}`, label: `y[${o}]`, rows: Ho, cols: Wo,
          cell: oc, hatch, value: (i, j) => ych[i][j], cls: () => "out" })), "cvx-fy"));
      } else {
        html.push(figureHTML("upstream gradient δ = dL/dy", cfg.delta.map((d, o) => ({ key: `d${o}`, label: `δ[${o}]`,
          rows: Ho, cols: Wo, cell: oc, hatch, value: (i, j) => d[i][j], cls: () => "grad" })), "cvx-fd"));
        const dxc = cellSize(narrow ? W - 20 : Math.min(360, (W - 40) * 0.45), Wd);
        html.push(figureHTML("dL/dx = conv_transpose2d(δ, w)", r.dx.map((d, c) => ({ key: `dx${c}`, label: `dL/dx[${c}]`,
          rows: H, cols: Wd, cell: dxc, hatch, value: (i, j) => d[i][j], cls: () => "grad" })), "cvx-fdx"));
        const dwg = [];
        for (let o = 0; o < O; o++) for (let c = 0; c < C; c++)
          dwg.push({ key: `dw${o}_${c}`, label: `dL/dw[${o}, ${c}]`, rows: kh, cols: kw, cell: ksz(kw), hatch,
            value: (i, j) => r.dw[o][c][i][j], cls: () => "grad" });
        html.push(figureHTML("dL/dw = x ⋆ δ (δ dilated by the stride)", dwg, "cvx-fdw"));
      }
    } else {
      const g = r.geom, [t, b, l, rr] = g.pads, [FH, FW] = r.fullHW, op = r.outputPadding, O = r.y.length;
      const half = narrow ? W - 20 : (W - 60) / 2;
      const xc = cellSize(Math.min(220, half * 0.6), Wd);
      const cropped = (i, j) => i < t || i >= FH - b || j < l || j >= FW - rr;
      const opad = (i, j) => i >= FH - op[0] || j >= FW - op[1];
      const fc = cellSize(Math.min(380, half), FW);
      const scatter = [
        figureHTML("input x", cfg.x.map((xch, c) => ({ key: `x${c}`, label: `x[${c}]`, rows: H, cols: Wd, cell: xc, hatch,
          value: (i, j) => xch[i][j], cls: () => role }))),
        figureHTML("kernel w", cfg.w.flatMap((wc, c) => wc.map((wo, o) => ({ key: `w${c}_${o}`, label: `w[${c}, ${o}]`,
          rows: kh, cols: kw, cell: ksz(kw), hatch, value: (i, j) => wo[i][j], cls: () => "k" })))),
        figureHTML("running sum on the full canvas (crop hatched)", r.full.map((_, o) => ({ key: `f${o}`,
          label: `canvas[${o}]`, rows: FH, cols: FW, cell: fc, hatch: xhatch, value: () => 0,
          cls: (i, j) => (cropped(i, j) ? "crop" : opad(i, j) ? "out opad" : "out") }))),
        figureHTML("overlap count", [{ key: "n", label: "stamps", rows: FH, cols: FW, cell: fc, hatch: xhatch,
          value: () => 0, cls: (i, j) => (cropped(i, j) ? "ovl crop" : "ovl") }]),
      ];
      const d = r.direct, [PH, PW] = [d.zp[0].length, d.zp[0][0].length];
      const zc = cellSize(Math.min(380, half), PW);
      const direct = [
        figureHTML(`zero-inserted, padded ${pyPad(d.pads)} (negative = crop)`, d.zp.map((zch, c) => ({ key: `z${c}`,
          label: `z[${c}]`, rows: PH, cols: PW, cell: zc, hatch, value: (i, j) => zch[i][j],
          cls: (i, j) => ["pad", "ins", role][d.kind[i][j]] }))),
        figureHTML("kernel rotated 180°", d.wf.flatMap((wo, o) => wo.map((wc, c) => ({ key: `r${o}_${c}`,
          label: `rot w[${c}, ${o}]`, rows: kh, cols: kw, cell: ksz(kw), hatch, value: (i, j) => wc[i][j], cls: () => "k" })))),
        figureHTML("output y (stride-1 convolution)", d.y.map((ych, o) => ({ key: `y${o}`, label: `y[${o}]`,
          rows: r.outHW[0], cols: r.outHW[1], cell: cellSize(Math.min(300, half), r.outHW[1]), hatch,
          value: (i, j) => ych[i][j], cls: (i, j) => (opad(i + t, j + l) ? "out opad" : "out") }))),
      ];
      html.push(`<section class="cvx-view"><h4>scatter view: each input pixel stamps x·w</h4>${scatter.join("")}</section>` +
        `<section class="cvx-view"><h4>direct view: zero insertion + padding + rotated kernel</h4>${direct.join("")}</section>`);
    }
    // same figures and grids as before: replace only the grids whose markup changed (a kernel or stride
    // change leaves the large input grids alone); otherwise rebuild the panels
    const sig = mode + "|" + [...BUILT.grids.keys()].join(",") + "|" + BUILT.captions.length;
    const prev = built;
    built = BUILT.grids;
    if (sig === lastSig) {
      panels.querySelectorAll("figure.cvx-fig > figcaption").forEach((fc, n) => {
        if (fc.textContent !== BUILT.captions[n]) fc.textContent = BUILT.captions[n];
      });
      for (const [key, d] of BUILT.grids) {
        if (prev.get(key).sig === d.sig) { built.set(key, grids[key].d); continue; }
        const wrap = panels.querySelector(`.cvx-gwrap[data-key="${key}"]`);
        wrap.firstElementChild.textContent = d.label;
        const g = grids[key], cv = g.canvas;
        if (g.d.rows !== d.rows || g.d.cols !== d.cols || g.d.cell !== d.cell) {
          // resize the same canvas (keeps its context; drawGrid sizes the backing store)
          const W = d.cols * d.cell + 2, H = d.rows * d.cell + 2;
          cv.style.width = `${W}px`; cv.style.height = `${H}px`;
          Object.assign(cv.dataset, { cell: d.cell, rows: d.rows, cols: d.cols });
          cv.setAttribute("aria-label", `${d.label}: ${d.rows} by ${d.cols}; arrow keys move the cursor, the line below the grids shows its value`);
          g.marks.clear(); g.box = null; g.cursor = null;
        }
        g.d = d; cv.dataset.values = JSON.stringify(d.vals); dirty.add(g);
      }
    } else {
      panels.innerHTML = html.join("");
      register();
    }
    lastSig = sig;
    drawFormula();
    drawCode();
  }

  function drawFormula() {
    const { p, r } = state;
    const f = r.formula[0] === r.formula[1] ? [r.formula[0]] : ["H: " + r.formula[0], "W: " + r.formula[1]];
    const lines = f.map((s) => `<code class="cvx-size">${esc(s)}</code>`);
    const g = r.geom;
    const sameAsym = typeof p.padding === "string" && p.padding.toLowerCase() === "same" &&
      (g.pads[0] !== g.pads[1] || g.pads[2] !== g.pads[3]);
    lines.push(`<span class="cvx-pads" data-pads="${g.pads.join(",")}">padding (top, bottom, left, right) = ` +
      `${pyPad(g.pads)}${sameAsym ? " — the odd row/column goes bottom/right (TensorFlow's SAME)" : ""}</span>`);
    if (p.mode === "transpose") {
      lines.push(`<span class="cvx-valid" data-sizes="${r.validSizes[0].join(",")}">sizes that convolve back to ${state.cfg.x[0].length}: ` +
        `[${r.validSizes[0].join(", ")}]; output_padding = ${pairText(r.outputPadding)} adds rows/columns at the bottom/right</span>`);
      lines.push(`<span>direct view padding d(k-1) - p = ${pyPad(r.direct.pads)}</span>`);
    }
    if (p.mode === "gradient") {
      lines.push(`<span>dL/dx = conv_transpose2d(δ, w, stride=${pairText(g.stride)}, padding=${pyPad(g.pads)}, ` +
        `output_padding=${pairText(r.transposeOutputPadding)}, dilation=${pairText(g.dilation)}); ` +
        `dL/dw[o, c, i, j] = Σ δ[o, p, q] · x_pad[c, p·s + i·d, q·s + j·d]</span>`);
    }
    $(".cvx-formula").innerHTML = lines.join("");
  }

  function drawCode() {
    const c = codeLines(state.p, state.r);
    $(".cvx-code").innerHTML =
      `<div class="cvx-codeline"><span>PyTorch</span><pre class="cvx-torch">${esc(c.torch)}</pre><button type="button" data-copy="cvx-torch">copy</button></div>` +
      `<div class="cvx-codeline"><span>TensorFlow</span><pre class="cvx-tf">${esc(c.tf)}</pre><button type="button" data-copy="cvx-tf">copy</button></div>` +
      (c.note ? `<div class="cvx-note">${esc(c.note)}</div>` : "");
    keepKeys($(".cvx-code"));
  }
  $(".cvx-code").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-copy]");
    if (!b) return;
    const text = root.querySelector("pre." + b.dataset.copy).textContent;
    const done = () => { b.textContent = "copied"; setTimeout(() => (b.textContent = "copy"), 1200); };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, () => {});
    else {
      const range = document.createRange(); range.selectNodeContents(root.querySelector("pre." + b.dataset.copy));
      const s = getSelection(); s.removeAllRanges(); s.addRange(range);
      try { document.execCommand("copy"); done(); } catch (_) { /* selection stays for Ctrl+C */ }
    }
  });

  // ----------------------------------------------------------------- highlights
  function mark(key, r, c, cls) {
    const g = grids[key];
    if (!g || r < 0 || c < 0 || r >= g.d.rows || c >= g.d.cols) return;
    const i = r * g.d.cols + c;
    if (!g.marks.has(i)) g.marks.set(i, new Set());
    g.marks.get(i).add(cls);
    dirty.add(g);
  }
  function markAll(key, cls) {
    const g = grids[key];
    if (!g) return;
    for (let r = 0; r < g.d.rows; r++) for (let c = 0; c < g.d.cols; c++) mark(key, r, c, cls);
  }
  function box(key, r0, c0, r1, c1) {
    const g = grids[key];
    if (!g) return;
    g.box = [r0, c0, r1, c1];
    dirty.add(g);
  }
  function clear(classes) {
    for (const g of Object.values(grids)) {
      let changed = false;
      for (const [i, set] of g.marks) {
        for (const c of classes) if (set.delete(c)) changed = true;
        if (!set.size) g.marks.delete(i);
      }
      if (changed) dirty.add(g);
    }
  }
  function clearBoxes() {
    for (const g of Object.values(grids)) if (g.box) { g.box = null; dirty.add(g); }
  }
  function setText(key, values) {
    const g = grids[key];
    if (!g) return;
    g.d = { ...g.d, vals: values };
    g.canvas.dataset.values = JSON.stringify(values);
    dirty.add(g);
  }

  const sub = (o, r, c) => `[${o}][${r}, ${c}]`;
  function productsText(name, o, r, q, taps, wsel, value) {
    const terms = taps.map((tp) => `${fmt(wsel(tp))}·${fmt(tp.x)}`);
    const shown = terms.length > MAX_TERMS ? terms.slice(0, MAX_TERMS).join(" + ") + ` + … (${terms.length} products)` : terms.join(" + ");
    return `<span class="cvx-eq" data-value="${value}">${name}${sub(o, r, q)} = ${shown} = <b>${fmt(value)}</b></span>`;
  }

  // ----------------------------------------------------------------- one step (or a hover preview)
  function drawStep() {
    if (!state) return;
    clear(["cur", "tap", "kact", "link"]);
    clearBoxes();
    const n = Math.min(model.get("step") || 0, state.steps - 1);
    stepInput.value = String(n);
    stepInput.max = String(state.steps - 1);
    stepInput.nextElementSibling.textContent = `${n + 1} / ${state.steps}`;
    const { p, cfg, r } = state;
    if (p.mode === "transpose") return stepTranspose(n);
    const g = r.geom, [Ho, Wo] = g.outHW, per = Ho * Wo;
    const o = Math.floor(n / per), rq = n % per, rr = Math.floor(rq / Wo), qq = rq % Wo;
    if (p.mode === "conv") {
      mark(`y${o}`, rr, qq, "cur");
      showWindow(o, rr, qq, "tap");
      const taps = windowOf(g, cfg.x, rr, qq);
      detail.innerHTML = productsText("y", o, rr, qq, taps, (tp) => cfg.w[o][tp.c][tp.i][tp.j], r.y[o][rr][qq]) +
        `<span class="cvx-hint">window: padded rows ${rr * g.stride[0]}…${rr * g.stride[0] + (g.kHW[0] - 1) * g.dilation[0]}, ` +
        `columns ${qq * g.stride[1]}…${qq * g.stride[1] + (g.kHW[1] - 1) * g.dilation[1]}, a tap every ${pairText(g.dilation)} ` +
        `(dilation). Hover, click or focus a cell (arrow keys) to link the views.</span>`;
    } else {
      mark(`d${o}`, rr, qq, "cur");
      showWindow(o, rr, qq, "tap");
      const [t, , l] = g.pads;
      for (const tp of windowOf(g, cfg.x, rr, qq)) if (tp.inside) for (let c = 0; c < cfg.x.length; c++) mark(`dx${c}`, tp.ir, tp.ic, "tap");
      for (let c = 0; c < cfg.x.length; c++) markAll(`dw${o}_${c}`, "kact");
      const dv = cfg.delta[o][rr][qq];
      detail.innerHTML = `<span class="cvx-eq" data-value="${dv}">δ${sub(o, rr, qq)} = ${fmt(dv)}: dL/dx += ${fmt(dv)} · w[${o}] ` +
        `stamped on the window (the transposed convolution); dL/dw[${o}] += ${fmt(dv)} · (the window of x)</span>` +
        `<span class="cvx-hint">window top-left at padded (${rr * g.stride[0]}, ${qq * g.stride[1]}), padding offset (${t}, ${l})</span>`;
    }
  }

  function showWindow(o, rr, qq, cls) {
    const { cfg, r } = state, g = r.geom;
    const taps = windowOf(g, cfg.x, rr, qq);
    for (const tp of taps) mark(`x${tp.c}`, tp.pr, tp.pc, cls);
    const [kh, kw] = g.kHW;
    for (let c = 0; c < cfg.x.length; c++) {
      box(`x${c}`, rr * g.stride[0], qq * g.stride[1], rr * g.stride[0] + (kh - 1) * g.dilation[0], qq * g.stride[1] + (kw - 1) * g.dilation[1]);
      markAll(`w${o}_${c}`, "kact");
    }
    return taps;
  }

  function stepTranspose(n) {
    const { cfg, r } = state, g = r.geom, [H, W] = [cfg.x[0].length, cfg.x[0][0].length];
    const p = Math.floor(n / W), q = n % W, [sh, sw] = g.stride, [dh, dw] = g.dilation, [kh, kw] = g.kHW;
    const [t, , l] = g.pads, d = r.direct;
    // running sum of the first n + 1 stamps, and their overlap counts
    const O = r.y.length, C = cfg.x.length, [FH, FW] = r.fullHW;
    const part = zeros3(O, FH, FW);
    for (let idx = 0; idx <= n; idx++) {
      const pp = Math.floor(idx / W), qq = idx % W;
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++)
        for (let o = 0; o < O; o++) {
          let acc = 0;
          for (let c = 0; c < C; c++) acc += cfg.x[c][pp][qq] * cfg.w[c][o][i][j];
          part[o][pp * sh + i * dh][qq * sw + j * dw] += acc;
        }
    }
    for (let o = 0; o < O; o++) setText(`f${o}`, part[o]);
    const counts = runningCounts(g, [H, W], r.fullHW, n + 1);
    setText("n", counts);
    for (let c = 0; c < C; c++) mark(`x${c}`, p, q, "cur");
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      for (let o = 0; o < O; o++) mark(`f${o}`, p * sh + i * dh, q * sw + j * dw, "tap");
      mark("n", p * sh + i * dh, q * sw + j * dw, "tap");
      for (let o = 0; o < O; o++) mark(`y${o}`, p * sh + i * dh - t, q * sw + j * dw - l, "tap");
    }
    for (let c = 0; c < C; c++) for (let o = 0; o < O; o++) markAll(`w${c}_${o}`, "kact");
    for (let c = 0; c < C; c++) mark(`z${c}`, p * sh + d.pads[0], q * sw + d.pads[2], "cur");
    for (let o = 0; o < O; o++) box(`f${o}`, t, l, FH - 1 - g.pads[1], FW - 1 - g.pads[3]);
    box("n", t, l, FH - 1 - g.pads[1], FW - 1 - g.pads[3]);
    const maxc = Math.max(...counts.flat());
    detail.innerHTML = `<span class="cvx-eq" data-value="${cfg.x[0][p][q]}">x[:, ${p}, ${q}] stamps x·w at rows ${p}·${sh} + i·${dh}, ` +
      `columns ${q}·${sw} + j·${dw}; ${n + 1} of ${H * W} stamps done, largest overlap ${maxc}</span>` +
      `<span class="cvx-hint">the outlined region is the output: padding crops ${pyPad(g.pads)}, ` +
      `output_padding ${pairText(r.outputPadding)} keeps extra rows/columns at the bottom/right (dashed)</span>`;
  }

  // ----------------------------------------------------------------- linked views (hover, focus + arrows)
  function link(key, rr, cc) {
    if (!state) return;
    const gg = grids[key];
    if (!gg || rr < 0 || cc < 0 || rr >= gg.d.rows || cc >= gg.d.cols) return; // e.g. a hover from before a resize
    clear(["link"]);
    const { p, cfg, r } = state, g = r.geom, C = cfg.x.length;
    const kind = key.replace(/[\d_]+$/, ""), ids = key.slice(kind.length).split("_").map(Number);
    const gv = grids[key] ? grids[key].d.vals[rr][cc] : null;
    const say = (html, prefix = true) => {
      detail.querySelector(".cvx-link-text")?.remove();
      detail.insertAdjacentHTML("beforeend", `<span class="cvx-link-text" data-value="${gv}">` +
        (prefix ? `${esc(grids[key] ? grids[key].d.label : key)}[${rr}, ${cc}] = ${fmt(gv)} — ` : "") + `${html}</span>`);
    };
    if (p.mode === "transpose") {
      const [sh, sw] = g.stride, [dh, dw] = g.dilation, [kh, kw] = g.kHW, [t, , l] = g.pads, d = r.direct;
      const [H, W] = [cfg.x[0].length, cfg.x[0][0].length];
      const contributors = (fr, fc) => {
        const out = [];
        for (let pp = 0; pp < H; pp++) for (let qq = 0; qq < W; qq++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++)
          if (pp * sh + i * dh === fr && qq * sw + j * dw === fc) out.push([pp, qq, i, j]);
        return out;
      };
      if (kind === "x") {
        for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
          for (let o = 0; o < r.y.length; o++) { mark(`f${o}`, rr * sh + i * dh, cc * sw + j * dw, "link"); mark(`y${o}`, rr * sh + i * dh - t, cc * sw + j * dw - l, "link"); }
        }
        say(`x[:, ${rr}, ${cc}] stamps a ${kh}×${kw} patch`);
      } else if (kind === "f" || kind === "n" || kind === "y") {
        const [fr, fc] = kind === "y" ? [rr + t, cc + l] : [rr, cc];
        const cs = contributors(fr, fc);
        for (const [pp, qq, i, j] of cs) {
          for (let c = 0; c < C; c++) { mark(`x${c}`, pp, qq, "link"); for (let o = 0; o < r.y.length; o++) mark(`w${c}_${o}`, i, j, "link"); }
        }
        if (kind === "y") for (let c = 0; c < C; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) mark(`z${c}`, rr + i * dh, cc + j * dw, "link");
        say(`canvas (${fr}, ${fc}) receives ${cs.length} stamp${cs.length === 1 ? "" : "s"}` + (cs.length ? ": " + cs.map(([a, b2, i, j]) => `x[${a},${b2}]·w[${i},${j}]`).join(" + ") : ""));
      } else if (kind === "z") {
        say(d.kind[rr] && d.kind[rr][cc] === 2 ? "a real input pixel" : d.kind[rr] && d.kind[rr][cc] === 1 ? "an inserted zero (stride - 1 between pixels)" : "padding");
      }
      return;
    }
    const [t, , l] = g.pads;
    if (kind === "y" || kind === "d") {
      const o = ids[0];
      const taps = windowOf(g, cfg.x, rr, cc);
      for (const tp of taps) mark(`x${tp.c}`, tp.pr, tp.pc, "link");
      for (let c = 0; c < C; c++) markAll(`w${o}_${c}`, "link");
      if (kind === "d") for (const tp of taps) if (tp.inside) for (let c = 0; c < C; c++) mark(`dx${c}`, tp.ir, tp.ic, "link");
      if (kind === "y") say(productsText("y", o, rr, cc, taps, (tp) => cfg.w[o][tp.c][tp.i][tp.j], r.y[o][rr][cc]), false);
      else say(`δ[${o}][${rr}, ${cc}] reaches ${taps.filter((tp) => tp.inside).length / C} input pixels`);
    } else if (kind === "x" || kind === "dx") {
      const [ir, ic] = kind === "x" ? [rr - t, cc - l] : [rr, cc];
      const feeds = inputFeeds(g, ir, ic), c = ids[0];
      for (const f of feeds) for (let o = 0; o < cfg.w.length; o++) {
        mark(p.mode === "conv" ? `y${o}` : `d${o}`, f.r, f.q, "link");
        mark(`w${o}_${c}`, f.i, f.j, "link");
      }
      const inside = ir >= 0 && ir < g.inHW[0] && ic >= 0 && ic < g.inHW[1];
      say(`${inside ? `x[${c}][${ir}, ${ic}]` : "this padding cell"} feeds ${feeds.length} output cell${feeds.length === 1 ? "" : "s"}` +
        (kind === "dx" ? `: dL/dx[${c}][${ir}, ${ic}] = Σ δ·w over them = ${fmt(r.dx[c][ir][ic])}` : " (its column of the Jacobian)"));
    } else if (kind === "w" || kind === "dw") {
      const [o, c] = ids;
      const ins = weightInputs(g, rr, cc);
      for (const it of ins) { mark(`x${c}`, it.pr, it.pc, "link"); }
      if (p.mode === "gradient") markAll(`d${o}`, "link");
      const real = ins.filter((it) => it.inside).length;
      say(`w[${o}, ${c}, ${rr}, ${cc}] multiplies ${ins.length} inputs (${real} real, ${ins.length - real} padding)` +
        (p.mode === "gradient" ? `: dL/dw = Σ δ·x over them = ${fmt(r.dw[o][c][rr][cc])}` : ": the pattern of its gradient"));
    }
  }

  function cellFromEvent(e) {
    const canvas = e.target.closest && e.target.closest("canvas.cvx-grid");
    if (!canvas || !grids[canvas.dataset.grid]) return null;
    const g = grids[canvas.dataset.grid], rect = canvas.getBoundingClientRect();
    const c = Math.floor((e.clientX - rect.left - 1) / g.d.cell), r = Math.floor((e.clientY - rect.top - 1) / g.d.cell);
    if (r < 0 || c < 0 || r >= g.d.rows || c >= g.d.cols) return null;
    return [canvas.dataset.grid, r, c];
  }
  panels.addEventListener("pointermove", (e) => {
    const hit = cellFromEvent(e);
    if (!hit) return;
    if (hover && hover[0] === hit[0] && hover[1] === hit[1] && hover[2] === hit[2]) return;
    hover = hit;
    link(...hit);
    flush();
  });
  panels.addEventListener("pointerleave", () => {
    hover = null; clear(["link"]); detail.querySelector(".cvx-link-text")?.remove(); flush();
  });
  panels.addEventListener("click", (e) => {
    const hit = cellFromEvent(e);
    if (hit) { pin(...hit); flush(); }
  });
  // the step a cell stands for (output cells in conv / delta cells in gradient / input pixels in transposed)
  function pin(key, rr, cc) {
    if (!state) return;
    const { p, r } = state;
    const o = Number(key.replace(/^\D+/, "").split("_")[0]) || 0;
    if (p.mode === "transpose" && key.startsWith("x")) set("step", rr * state.cfg.x[0][0].length + cc);
    else if ((p.mode === "conv" && key.startsWith("y")) || (p.mode === "gradient" && key.startsWith("d") && !key.startsWith("dx") && !key.startsWith("dw")))
      set("step", o * r.geom.outHW[0] * r.geom.outHW[1] + rr * r.geom.outHW[1] + cc);
  }
  const cursors = new Map(); // grid key -> [r, c]
  const cursorOf = (key) => {
    const g = grids[key], [r, c] = cursors.get(key) || [0, 0];
    return [Math.min(r, g.d.rows - 1), Math.min(c, g.d.cols - 1)];
  };
  panels.addEventListener("focusin", (e) => {
    const canvas = e.target.closest && e.target.closest("canvas.cvx-grid");
    if (!canvas || !grids[canvas.dataset.grid]) return;
    const key = canvas.dataset.grid;
    const cur = cursorOf(key);
    cursors.set(key, cur);
    showCursor(key, ...cur);
    link(key, ...cur);
    flush();
  });
  panels.addEventListener("focusout", (e) => {
    const canvas = e.target.closest && e.target.closest("canvas.cvx-grid");
    const g = canvas && grids[canvas.dataset.grid];
    if (g) { g.cursor = null; dirty.add(g); flush(); }
  });
  function showCursor(key, rr, cc) {
    const g = grids[key];
    if (!g) return;
    g.cursor = [rr, cc];
    dirty.add(g);
  }
  root.addEventListener("keydown", (e) => {
    e.stopPropagation(); // Notebook 7 / JupyterLab must not act on keys meant for the explorer
    const canvas = e.target.closest && e.target.closest("canvas.cvx-grid");
    if (!canvas || !grids[canvas.dataset.grid]) return;
    const key = canvas.dataset.grid, g = grids[key];
    let [rr, cc] = cursorOf(key);
    if (ARROWS[e.key]) {
      e.preventDefault();
      rr = Math.max(0, Math.min(g.d.rows - 1, rr + ARROWS[e.key][0]));
      cc = Math.max(0, Math.min(g.d.cols - 1, cc + ARROWS[e.key][1]));
      cursors.set(key, [rr, cc]);
      showCursor(key, rr, cc);
      pin(key, rr, cc);
      link(key, rr, cc);
      flush();
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      pin(key, rr, cc);
      link(key, rr, cc);
      flush();
    }
  });
  root.addEventListener("keyup", (e) => e.stopPropagation());
  root.addEventListener("keypress", (e) => e.stopPropagation());

  // ----------------------------------------------------------------- model events
  const onParam = () => full();
  const onStep = () => { drawStep(); if (hover && grids[hover[0]]) link(...hover); flush(); };
  for (const k of PARAMS) model.on(`change:${k}`, onParam);
  model.on("change:step", onStep);
  let ro = null;
  if (typeof ResizeObserver !== "undefined") {
    ro = new ResizeObserver(() => {
      const w = root.clientWidth; // layout is up to date when resize observers run
      widthNow = w;
      if (P && !P.complete) { P = null; for (const g of Object.values(grids)) dirty.add(g); flush(); } // now attached
      if (state && Math.abs(w - lastWidth) > 24) { drawPanels(); drawStep(); flush(); }
    });
    ro.observe(root);
  }
  // theme switches (the book's dark mode, JupyterLab's theme): re-resolve the colours, redraw
  const themed = new MutationObserver(() => {
    P = null;
    for (const g of Object.values(grids)) dirty.add(g);
    flush();
  });
  themed.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme", "class"] });
  if (document.body) themed.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-theme", "class"] });
  full();
  return () => {
    stop();
    themed.disconnect();
    if (ro) ro.disconnect();
    for (const k of PARAMS) model.off(`change:${k}`, onParam);
    model.off("change:step", onStep);
  };
}

export default { render };
