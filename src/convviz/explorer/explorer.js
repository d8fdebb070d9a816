// convviz explorer view: the anywidget ES module (export default { render({ model, el }) }).
//
// The same module runs in Jupyter (anywidget's model, synced with the Python traits of
// convviz.widgets) and in the static book (mount.js builds a small local model from a JSON config).
// All arithmetic comes from core.js; this file only draws (canvas, DOM) and wires input events.
// Every displayed number is also in the DOM (data-value attributes), so tests read them back.
// An update: the handlers compute and write the DOM's numbers and text at once (only what changed, no layout
// reads); the canvases are painted in the next animation frame, once for all events of that frame.
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
/** Write a DOM property only when it changes (a same-value write still invalidates style or layout). */
function setProp(el, name, value) { if (el[name] !== value) el[name] = value; }
const pyPad = (p) => (Array.isArray(p) ? "(" + p.join(", ") + ")" : typeof p === "string" ? `"${p}"` : String(p));
const pairText = (v) => (v[0] === v[1] ? String(v[0]) : `(${v[0]}, ${v[1]})`);

// ------------------------------------------------------------------------------------- grids
// Each grid is one <canvas> (a parameter change redraws thousands of cells within a frame, which SVG
// elements could not). Its numbers stay in the DOM: data-values (JSON rows) and data-marks (highlights).
// Two layers: the base (fills, lines, numbers) is drawn into an offscreen canvas once per data / size /
// palette; the grid's canvas shows a copy of it with the highlights (window, links, cursor) on top, so a
// step or a hover copies one image and draws a few cells. (A second canvas on top for the highlights costs
// more: every canvas on the page is a composited layer that each frame's commit visits.)

/** Grid data from a spec {key, rows, cols, cell, value(r, c), cls(r, c), label, budget, range}. */
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
  // range: the values the colour scale must cover (the grid's own, or more: a running sum's final values)
  const [rlo, rhi] = spec.range || [lo, hi];
  let role = null;
  for (let r = 0; r < rows && !role; r++) for (let c = 0; c < cols && !role; c++) role = kindOf(cls[r][c]).role || null;
  return { key, label: spec.label, rows, cols, cell, vals, cls, showNums, lo, hi, sig, role,
           slo: Math.min(lo, rlo), shi: Math.max(hi, rhi), scale: 0 };
}

/** The colour scale of a figure's grids, as convviz.style.value_scale decides it for the figures: a range
 *  that goes below 0 is signed, drawn on the one diverging scale on [-m, m], m the largest magnitude (shared
 *  by the grids of a figure, so that equal numbers have equal colours); d.scale = m, or 0 (unsigned). */
function shareScale(ds) {
  let lo = Infinity, hi = -Infinity;
  for (const d of ds) { lo = Math.min(lo, d.slo); hi = Math.max(hi, d.shi); }
  const m = lo < 0 ? Math.max(-lo, hi) : 0;
  for (const d of ds) { d.scale = m; d.sig += `|s${m}`; }
  return m;
}

function canvasHTML(d) {
  const W = d.cols * d.cell + 2, H = d.rows * d.cell + 2, dpr = window.devicePixelRatio || 1;
  return `<canvas class="cvx-grid" data-grid="${d.key}" data-cell="${d.cell}" data-rows="${d.rows}" data-cols="${d.cols}" ` +
    `width="${Math.round(W * dpr)}" height="${Math.round(H * dpr)}" style="width:${W}px;height:${H}px" tabindex="0" role="img" ${SUPPRESS}="true" ` +
    `aria-label="${esc(d.label)}: ${d.rows} by ${d.cols}; arrow keys move the cursor, the line below the grids shows its value"></canvas>`;
}

const minus = (v) => fmt(v).replace(/^-/, "−");
function scaleHTML(m) {
  return m ? `<span class="cvx-ftitle-sep"> </span><span class="cvx-scale" role="img" aria-label="colour: the signed scale, ` +
    `blue below 0, neutral at 0, red above 0, from ${minus(-m)} to ${fmt(m)}"><span>${minus(-m)}</span><i></i><span>0</span><i class="cvx-pos"></i><span>${fmt(m)}</span></span>` : "";
}

let BUDGET = null, BUILT = null; // per drawPanels call: the numbers budget, and {grids: key -> data, captions, scales}
function figureHTML(title, grids, cls = "") {
  BUILT.captions.push(title);
  const ds = grids.map((g) => { g.budget = BUDGET; return gridData(g); });
  const m = shareScale(ds);
  BUILT.scales.push(m);
  const body = ds.map((d) => {
    BUILT.grids.set(d.key, d);
    return `<div class="cvx-gwrap" data-key="${d.key}"><div class="cvx-glabel">${esc(d.label)}</div>${canvasHTML(d)}</div>`;
  }).join("");
  return `<figure class="cvx-fig ${cls}"><figcaption data-scale="${m}"><span class="cvx-ftitle">${title}</span>${scaleHTML(m)}</figcaption>` +
    `<div class="cvx-figgrids">${body}</div></figure>`;
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
const colorList = (s) => (String(s || "").match(/#[0-9a-f]{3,8}\b|rgba?\([^)]*\)/gi) || []).map(parseColor);
const mixNum = (a, b, t) => [0, 1, 2].map((i) => Math.round(a[i] * t + b[i] * (1 - t)));
// a colour as one pixel of an ImageData viewed as a Uint32Array (bytes R, G, B, A in memory)
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const packRGB = ([r, g, b], a = 255) => (LITTLE ? ((a << 24) | (b << 16) | (g << 8) | r) : ((r << 24) | (g << 16) | (b << 8) | a)) >>> 0;
const PACKED = new Map(); // fill string ("rgb(r,g,b)", "#rrggbb") -> packed pixel
function packed(s) {
  let v = PACKED.get(s);
  if (v === undefined) PACKED.set(s, (v = packRGB(parseColor(s))));
  return v;
}
const mixRGB = (a, b, t) => `rgb(${mixNum(a, b, t).join(",")})`;
// explorer.css's light defaults: used while the root's style cannot be read (not attached to the document
// yet, or the stylesheet not applied yet); such a palette is provisional and is re-read once it can be.
// diverging: convviz.style.DIVERGING_COLORS (Paul Tol's BuRd without its darkest ends), the scale of signed grids
const FALLBACK = { bg: "#ffffff", text: "#111111", muted: "#5a5a5a", line: "#6e6e6e", input: "#0077BB", kernel: "#EE7733",
                   output: "#009988", padding: "#BBBBBB", gradient: "#AA3377", highlight: "#CC3311", overlap: "#332288",
                   diverging: "#4393C3, #92C5DE, #D1E5F0, #F7F7F7, #FDDBC7, #F4A582, #D6604D" };
const LUT = 256; // matplotlib's colormap resolution (LinearSegmentedColormap N)
let PALETTES = 0;
function palette(root, colors = {}) {
  const cs = root.isConnected ? getComputedStyle(root) : null;
  const P = { complete: !!cs, id: ++PALETTES };
  const css = (n) => {
    const s = cs ? cs.getPropertyValue(`--cvx-${n}`).trim() : "";
    if (!s) P.complete = false;
    return s || colors[n] || FALLBACK[n];
  };
  for (const n of ["input", "kernel", "output", "padding", "gradient", "highlight", "overlap", "bg", "text", "muted", "line"]) P[n] = parseColor(css(n));
  P.mix = (cs && parseFloat(cs.getPropertyValue("--cvx-mix")) / 100) || 0.24;
  P.css = (n) => `rgb(${P[n].join(",")})`;
  // the diverging scale as matplotlib samples it: LUT entries, linear between evenly spaced stops
  let stops = colorList(css("diverging"));
  if (stops.length < 2) stops = colorList(FALLBACK.diverging);
  const ns = stops.length - 1;
  P.div = Array.from({ length: LUT }, (_, i) => {
    const x = (i / (LUT - 1)) * ns, k = Math.min(ns - 1, Math.floor(x)), f = x - k;
    return `rgb(${[0, 1, 2].map((j) => Math.round(stops[k][j] * (1 - f) + stops[k + 1][j] * f)).join(",")})`;
  });
  // Normalize(-m, m) then the colormap's lookup: floor(x * N), x = 1 -> N - 1
  P.signed = (v, m) => P.div[Math.max(0, Math.min(LUT - 1, Math.floor(((v / m + 1) / 2) * LUT)))];
  // hatching (padding, cropped cells): diagonal lines u + v = 0 (mod 8 CSS px) over a light fill, drawn per
  // device pixel in basePixels; the ink is softer on dark themes
  const hatch = (bgT, lineW) => {
    const under = mixNum(P.padding, P.bg, bgT), ink = mixNum(P.padding, P.bg, P.mix > 0.3 ? 0.45 : 1);
    return { bg: packRGB(under), w: lineW, lut: Array.from({ length: 33 }, (_, i) => packRGB(mixNum(ink, under, i / 32))) };
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
const FONT = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace';
const fontSize = (cell) => Math.max(8, Math.min(13, Math.floor(cell * 0.45)));
/** The size (px) of grid d's numbers: fontSize(cell), smaller where the longest number would not fit its
 *  cell with 2 px to spare on each side (a monospace font: the longest label decides), never under 7 px.
 *  Kept on the canvas as data-font (what is drawn, for tests and the curious). */
function numberFont(x, g) {
  const d = g.d;
  if (d.fontPx) return d.fontPx;
  let longest = "";
  for (const row of d.vals) for (const v of row) { const s = fmt(v); if (s.length > longest.length) longest = s; }
  let px = fontSize(d.cell);
  x.font = `${px}px ${FONT}`;
  const width = x.measureText(longest).width, room = d.cell - 4;
  if (width > room) px = Math.max(7, Math.floor((px * room) / width * 4) / 4);
  if (g.canvas.dataset.font !== String(px)) g.canvas.dataset.font = String(px);
  return (d.fontPx = px);
}

// A canvas's backing store is only ever enlarged: reallocating it (a new shared image in Chromium) costs
// more than drawing the grid, and a parameter change resizes most grids. A larger store is shown clipped to
// the grid (CSS box = the grid): at devicePixelRatio 1 with object-fit: none, at other ratios with
// object-view-box where the browser has it; elsewhere the store is resized to the grid exactly.
const VIEWBOX = typeof CSS !== "undefined" && !!CSS.supports && CSS.supports("object-view-box", "inset(0px)");
function fitCanvas(cv, W, H, dpr) {
  const nw = Math.round(W * dpr), nh = Math.round(H * dpr), clip = dpr === 1 || VIEWBOX;
  if (clip ? cv.width < nw : cv.width !== nw) cv.width = clip ? Math.max(nw, cv.width) : nw;
  if (clip ? cv.height < nh : cv.height !== nh) cv.height = clip ? Math.max(nh, cv.height) : nh;
  const st = cv.style, w = `${W}px`, h = `${H}px`;
  if (st.width !== w) st.width = w;
  if (st.height !== h) st.height = h;
  const fit = dpr === 1 ? "none" : "";
  if (st.objectFit !== fit) st.objectFit = fit;
  if (VIEWBOX) {
    const vb = dpr === 1 || (cv.width === nw && cv.height === nh) ? "" : `inset(0px ${cv.width - nw}px ${cv.height - nh}px 0px)`;
    if (st.objectViewBox !== vb) st.objectViewBox = vb;
  }
  return [nw, nh];
}

/** The fills and grid lines of grid g as device pixels (ImageData nw x nh): each cell one colour between
 *  edges rounded to whole device pixels, grid lines blended at half opacity, hatched cells' lines
 *  antialiased from their distance. Rasterising hundreds of differently coloured rects and a path of grid
 *  lines in the canvas took most of a parameter change's drawing; here each cell row is built once as a
 *  pixel row and copied, and only hatched cells are computed pixel by pixel. */
function basePixels(g, P, dpr, nw, nh) {
  const { d } = g, cell = d.cell, rows = d.rows, cols = d.cols;
  // the pixels are only ever enlarged (as the canvases are): a parameter change resizes most grids, and a
  // new ImageData each time costs more in allocation and garbage collection than filling it
  let img = g.img;
  if (!img || img.width < nw || img.height < nh) {
    img = g.img = new ImageData(Math.max(nw, img ? img.width : 0), Math.max(nh, img ? img.height : 0));
    g.px = new Uint32Array(img.data.buffer);
  }
  const px = g.px, S = img.width; // row stride
  px.fill(0, 0, nh * S);
  const span = d.hi > d.lo ? d.hi - d.lo : 1, m = d.scale;
  const colour = new Array(rows * cols), hatchOf = new Int8Array(rows * cols); // 1 padding, 2 crop
  for (let r = 0, i = 0; r < rows; r++)
    for (let c = 0; c < cols; c++, i++) {
      const kd = kindOf(d.cls[r][c]), v = d.vals[r][c];
      if (kd.pad || kd.crop) { hatchOf[i] = kd.pad ? 1 : 2; colour[i] = (kd.pad ? P.hatchPad : P.hatchCrop).bg; continue; }
      colour[i] = packed(kd.ovl ? P.fill("overlap", Math.min(1, v / 4) * 0.7)
        : kd.role ? (m ? P.signed(v, m) : P.fill(kd.role, d.showNums ? P.mix : 0.12 + 0.6 * (v - d.lo) / span))
        : P.fill("bg", 1));
    }
  // cell edges and grid lines in device pixels: line k starts at the top-left edge of cell k, lw pixels wide
  const e = new Int32Array(Math.max(rows, cols) + 1);
  for (let k = 0; k < e.length; k++) e[k] = Math.round((1 + k * cell) * dpr);
  const lw = Math.max(1, Math.round(0.8 * dpr)), x1 = Math.min(nw, e[cols] + lw), y1 = Math.min(nh, e[rows] + lw);
  const Lh = packRGB(P.line), lineOnly = packRGB(P.line, 128);
  const half = (a) => (((a >>> 1) & 0x7f7f7f7f) + ((Lh >>> 1) & 0x7f7f7f7f) + (LITTLE ? 0x01000000 : 1)) >>> 0; // 50% over opaque
  // one cell row as pixel rows: inside the cells, on its top grid line; below the last row, the bottom line
  const plain = new Uint32Array(nw), lined = new Uint32Array(nw), bottom = new Uint32Array(nw);
  bottom.fill(lineOnly, e[0], x1);
  for (let r = 0; r < rows; r++) {
    lined.set(bottom);
    for (let c = 0; c < cols; c++) {
      const v = colour[r * cols + c], a = e[c], b = Math.min(nw, e[c + 1]);
      plain.fill(v, a, b); lined.fill(half(v), a, b);
    }
    for (let k = 0; k <= cols; k++)  // vertical lines (where they cross a horizontal one, blended once: as above)
      plain.fill(k < cols ? half(colour[r * cols + k]) : lineOnly, e[k], Math.min(nw, e[k] + lw));
    for (let y = e[r], end = Math.min(nh, e[r + 1]); y < end; y++) px.set(y < e[r] + lw ? lined : plain, y * S);
  }
  for (let y = e[rows]; y < y1; y++) px.set(bottom, y * S);
  // hatched cells: the ink of lines u + v = 0 (mod 8 CSS px) by the distance of each pixel's centre from them
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const h = hatchOf[r * cols + c];
      if (!h) continue;
      const H = h === 1 ? P.hatchPad : P.hatchCrop, lut = H.lut, half1 = H.w / 2;
      const ya = e[r] + lw, yb = Math.min(nh, e[r + 1]), xa = e[c] + lw, xb = Math.min(nw, e[c + 1]);
      for (let y = ya; y < yb; y++) {
        const row = y * S;
        for (let x = xa; x < xb; x++) {
          const t = ((x + y + 1) / dpr) % 8, dist = (t < 4 ? t : 8 - t) * Math.SQRT1_2;
          const cov = (half1 - dist) * dpr + 0.5;
          px[row + x] = cov <= 0 ? H.bg : lut[cov >= 1 ? 32 : (cov * 32 + 0.5) | 0];
        }
      }
    }
  return img;
}

/** The base layer of grid g into its offscreen canvas g.base: fills, grid lines, numbers, dashes. */
function drawBase(g, P, dpr) {
  const { d } = g, cell = d.cell, W = d.cols * cell + 2, H = d.rows * cell + 2;
  const nw = Math.round(W * dpr), nh = Math.round(H * dpr);
  const b = g.base || (g.base = document.createElement("canvas"));
  if (b.width < nw) { b.width = nw; g.bctx = null; }  // only ever enlarged (as fitCanvas)
  if (b.height < nh) { b.height = nh; g.bctx = null; }
  const x = g.bctx || (g.bctx = b.getContext("2d"));
  x.setTransform(dpr, 0, 0, dpr, 0, 0);
  x.putImageData(basePixels(g, P, dpr, nw, nh), 0, 0, 0, 0, nw, nh);
  const m = d.scale;
  if (d.showNums) {
    x.font = `${numberFont(x, g)}px ${FONT}`;
    x.textAlign = "center"; x.textBaseline = "middle";
    const muted = P.css("muted"), text = P.css("text");
    for (let r = 0; r < d.rows; r++)
      for (let c = 0; c < d.cols; c++) {
        x.fillStyle = kindOf(d.cls[r][c]).muted ? muted : text;
        x.fillText(fmt(d.vals[r][c]), 1 + c * cell + cell / 2, 1 + r * cell + cell / 2 + 0.5);
      }
  } else if ("font" in g.canvas.dataset) delete g.canvas.dataset.font;
  let dashed = false; // inserted zeros, output_padding: a dashed frame inside the cell
  for (let r = 0; r < d.rows; r++)
    for (let c = 0; c < d.cols; c++) {
      if (!kindOf(d.cls[r][c]).dash) continue;
      if (!dashed) { x.setLineDash([3, 2]); x.strokeStyle = P.css("line"); x.lineWidth = 1.2; dashed = true; }
      x.strokeRect(2 + c * cell, 2 + r * cell, cell - 2, cell - 2);
    }
  if (dashed) x.setLineDash([]);
  // a signed grid keeps its role in the colour of its border (as the figures do)
  if (m && d.role) { x.strokeStyle = P.css(d.role); x.lineWidth = 2; x.strokeRect(1, 1, d.cols * cell, d.rows * cell); }
}

/** The highlights of grid g (g.marks: index -> Set(cls), g.box, g.cursor) on context x. */
function drawMarks(g, P, x) {
  const { d } = g, cell = d.cell;
  const signed = d.scale > 0, strokes = [];
  let font = false;
  for (const [i, m] of g.marks) {
    const r = Math.floor(i / d.cols), c = i % d.cols, X = 1 + c * cell, Y = 1 + r * cell;
    const link = m.has("link"), tap = !link && m.has("tap");
    if ((link || tap) && signed) strokes.push([X, Y, link ? "link" : "tap"]);
    else if (link || tap) {
      // unsigned grids: the cell takes the highlight's colour; a signed grid's cell keeps its value's colour
      // (the one scale: a tint over it would read as another number) and gets a frame instead
      x.fillStyle = link ? P.fill("highlight", 0.4) : P.fill("kernel", 0.55);
      x.fillRect(X + 0.4, Y + 0.4, cell - 0.8, cell - 0.8);
      const kd = kindOf(d.cls[r][c]);
      if (kd.dash) strokes.push([X, Y, "dash"]);
      if (d.showNums) {
        if (!font) { x.font = `${numberFont(x, g)}px ${FONT}`; x.textAlign = "center"; x.textBaseline = "middle"; font = true; }
        x.fillStyle = P.css(kd.muted ? "muted" : "text");
        x.fillText(fmt(d.vals[r][c]), X + cell / 2, Y + cell / 2 + 0.5);
      }
    }
    if (m.has("kact")) strokes.push([X, Y, "kact"]);
    if (m.has("cur")) strokes.push([X, Y, "cur"]);
  }
  for (const [X, Y, kind] of strokes) {
    if (kind === "dash") { x.setLineDash([3, 2]); x.strokeStyle = P.css("line"); x.lineWidth = 1.2; x.strokeRect(X + 1, Y + 1, cell - 2, cell - 2); x.setLineDash([]); }
    else if (kind === "kact") { x.strokeStyle = P.css("kernel"); x.lineWidth = 2; x.strokeRect(X + 1, Y + 1, cell - 2, cell - 2); }
    else if (kind === "tap" || kind === "link") { // signed grids' window / linked cells: a frame as wide as the box
      x.strokeStyle = P.css(kind === "tap" ? "kernel" : "highlight"); x.lineWidth = 2.5;
      x.strokeRect(X + 1.25, Y + 1.25, cell - 2.5, cell - 2.5);
    }
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
}

/** Paint grid g with palette P (nothing when it would show the same picture): the base, redrawn only when
 *  its data, size or palette changed, copied onto the canvas, then the highlights. */
function drawGrid(g, P) {
  const { d } = g, dpr = window.devicePixelRatio || 1, key = `${d.sig}|${P.id}|${dpr}`;
  const picture = `${key}|${g.shownMarks}|${g.box}|${g.cursor}`;
  if (g.picture === picture) return; // e.g. a step that left this grid's highlights alone
  g.picture = picture;
  if (g.baseKey !== key) { drawBase(g, P, dpr); g.baseKey = key; }
  const [nw, nh] = fitCanvas(g.canvas, d.cols * d.cell + 2, d.rows * d.cell + 2, dpr);
  const x = g.ctx;
  x.setTransform(1, 0, 0, 1, 0, 0);
  x.globalCompositeOperation = "copy";
  x.drawImage(g.base, 0, 0, nw, nh, 0, 0, nw, nh);
  x.globalCompositeOperation = "source-over";
  if (!g.marks.size && !g.box && !g.cursor) return;
  x.setTransform(dpr, 0, 0, dpr, 0, 0);
  drawMarks(g, P, x);
}

/** The highlights as the tests and the curious read them: {cls: [[r, c], ...]} in row-major order. */
function marksJSON(g) {
  const out = {};
  for (const i of [...g.marks.keys()].sort((a, b) => a - b))
    for (const k of g.marks.get(i)) (out[k] = out[k] || []).push([Math.floor(i / g.d.cols), i % g.d.cols]);
  return JSON.stringify(out);
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
  // the model's colours (convviz.style.COLORS) on the root; explorer.css has the same values as defaults, and
  // only a colour that differs is set inline (an inline value would also override the dark theme's)
  const colors = model.get("colors") || {};
  for (const [k, v] of Object.entries(colors)) {
    const val = Array.isArray(v) ? v.join(", ") : String(v);
    if (val.toLowerCase() !== String(FALLBACK[k] || "").toLowerCase()) root.style.setProperty(`--cvx-${k}`, val);
  }

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
  const formulaBox = $(".cvx-formula"), codeBox = $(".cvx-code");
  const shown = { formula: "", code: "", detail: "" }; // the markup last written (unchanged markup is not rewritten)
  const stepInput = $("input[name=step]");
  let state = null;      // {p, cfg, r, steps}
  let grids = {};        // key -> {canvas, ctx, d (gridData), marks, box, cursor, base (offscreen layer), ...}
  let timer = null, hover = null, lastWidth = 0, lastSig = "", built = new Map();
  let P = null;              // palette (resolved CSS colours); reset when the theme changes
  const dirty = new Set();   // grids to repaint at the next frame (flush() schedules it)
  const meta = new Set();    // grids whose data-marks / data-box flush() rewrites (at once: tests read them)
  let painting = 0;          // the pending requestAnimationFrame
  let fullPending = false;   // a parameter change is waiting for its microtask (several changes: one redraw)
  let unsteady = () => {};   // lets the steady blocks shrink (set with the resize observers below)

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
      // the other three sides keep what is shown (the sides show for a list, or an int that pads every side)
      const cur = model.get("padding");
      const four = Array.isArray(cur) ? (cur.length === 4 ? [...cur] : [cur[0], cur[0], cur[1], cur[1]])
        : Number.isInteger(cur) ? [cur, cur, cur, cur] : [0, 0, 0, 0];
      const v = side.value === "" ? 0 : Number(side.value);
      four[Number(side.dataset.side)] = v;
      set("padding", four);
    });
  }
  const osSel = $("select[name=output_size]");
  if (osSel) osSel.addEventListener("change", () => {
    const v = osSel.value; // read first: setting output_padding redraws the options
    if (v === "") set("output_size", null);
    else { model.set("output_padding", 0); set("output_size", v.includes(",") ? v.split(",").map(Number) : Number(v)); }
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

  // controls follow the model; every write is skipped when the value is already shown (the slider being
  // dragged, the outputs of unchanged parameters)
  const ranges = [...root.querySelectorAll(".cvx-controls input[type=range]")];
  let osHTML = "";
  function syncControls(p) {
    for (const input of ranges) {
      const v = p[input.name];
      if (typeof v === "number") setProp(input, "value", String(v));
      setProp(input.nextElementSibling, "textContent", typeof v === "number" ? String(v) : "");
    }
    // a given x fixes the input size and channels; a given w the kernel size, channels and filters
    const xGiven = locked(), wGiven = !!(model.get("w") && model.get("w").length);
    const fixed = { input_size: xGiven, kernel_size: wGiven, channels: xGiven || wGiven, filters: wGiven };
    for (const [n, off] of Object.entries(fixed)) {
      const c = root.querySelector(`[data-ctl=${n}] input`);
      if (c) setProp(c, "disabled", off);
    }
    const padSel = $("select[name=padding]"), sides = $(".cvx-sides");
    const pv = p.padding;
    const custom = Array.isArray(pv) || (typeof pv === "number" && (pv > 3 || pv < 0));
    setProp(padSel, "value", custom ? "custom" : typeof pv === "string" ? pv.toLowerCase() : String(pv));
    setProp(sides, "hidden", !custom);
    if (custom) {
      const four = Array.isArray(pv) ? (pv.length === 4 ? pv : [pv[0], pv[0], pv[1], pv[1]]) : [pv, pv, pv, pv];
      sides.querySelectorAll("input").forEach((inp, n) => { if (document.activeElement !== inp) setProp(inp, "value", String(four[n])); });
    }
    if (osSel) {
      // one size for both axes: those valid for the rows and the columns (asymmetric padding can differ);
      // a (rows, columns) pair set from Python is shown as it is
      const [rs, cs] = state && state.r.validSizes ? state.r.validSizes : [[], []];
      const sizes = rs.filter((s) => cs.includes(s));
      const cur = p.output_size, pairCur = Array.isArray(cur);
      const key = cur === null || cur === undefined ? "" : pairCur ? cur.join(",") : String(cur);
      const opts = [`<option value="">auto (output_padding)</option>`]
        .concat(sizes.map((s) => `<option value="${s}">${s}</option>`));
      if (key && (pairCur || !sizes.includes(cur))) {
        const ok = pairCur ? rs.includes(cur[0]) && cs.includes(cur[1]) : false;
        opts.push(`<option value="${esc(key)}">${esc(pairCur ? cur.join(" × ") : key)}${ok ? "" : " (not reachable)"}</option>`);
      }
      const html = opts.join("");
      if (html !== osHTML) { osSel.innerHTML = html; osHTML = html; }
      setProp(osSel, "value", key);
    }
    if (dSel) setProp(dSel, "value", p.delta || "ones");
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
    const step = clampStep(model.get("step"));
    setProp(stepInput, "max", String(state.steps - 1));
    if (step !== model.get("step")) {
      fullPending = true; // drawStep follows: the step's change handler need not draw it first
      try { model.set("step", step); } finally { fullPending = false; }
      save();
    }
    drawStep();
    if (hover && grids[hover[0]]) link(...hover);
    flush();
  }

  let shownError = "";
  /** A step of the current state: a whole number in [0, steps - 1] (0 for anything else). */
  const clampStep = (s) => (Number.isInteger(s) ? Math.min(Math.max(0, s), state.steps - 1) : 0);

  function showError(msg) {
    shownError = msg;
    setProp(errorBox, "hidden", !msg);
    setProp(errorBox, "textContent", msg ? "⚠ " + msg : "");
    if (root.classList.contains("cvx-invalid") !== !!msg) root.classList.toggle("cvx-invalid", !!msg);
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
    const g = { canvas, ctx: canvas.getContext("2d"), base: null, bctx: null, baseKey: "", picture: "", d, marks: new Map(),
                box: null, cursor: null, shownMarks: "" };
    canvas.dataset.values = JSON.stringify(d.vals);
    grids[key] = g;
    dirty.add(g); meta.add(g);
  }
  function register() {
    grids = {};
    dirty.clear(); meta.clear();
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
  // flush(): the DOM's numbers and highlights now (attributes only: no layout), the pixels at the next frame
  // (all grids changed by the events of one frame are painted once); flush(true) paints now (observers that
  // run inside the frame's rendering steps)
  function flush(now = false) {
    for (const g of meta) {
      const mj = marksJSON(g);
      if (mj !== g.shownMarks) { g.canvas.dataset.marks = mj; g.shownMarks = mj; }
      const bx = g.box ? g.box.join(",") : null;
      if ((g.canvas.dataset.box ?? null) !== bx) { if (bx === null) delete g.canvas.dataset.box; else g.canvas.dataset.box = bx; }
    }
    meta.clear();
    if (!dirty.size) return;
    if (now) paint();
    else if (!painting) painting = requestAnimationFrame(paint);
  }
  function paint() {
    if (painting) { cancelAnimationFrame(painting); painting = 0; }
    if (!dirty.size) return;
    const p = pal();
    for (const g of dirty) drawGrid(g, p);
    dirty.clear();
  }

  function drawPanels() {
    const { p, cfg, r } = state, W = avail();
    let left = NUM_BUDGET;
    BUDGET = { take: (n) => (n <= left ? ((left -= n), true) : false) };
    BUILT = { grids: new Map(), captions: [], scales: [] };
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
      // the colour range of the running sums: every partial sum lies between a cell's negative and positive
      // stamps' totals (the final canvas alone would not do: a partial sum can go beyond it)
      const sumRange = [0, 0];
      {
        const C = cfg.x.length, neg = zeros3(O, FH, FW), pos = zeros3(O, FH, FW);
        for (let pp = 0; pp < H; pp++) for (let qq = 0; qq < Wd; qq++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++)
          for (let o = 0; o < O; o++) {
            let acc = 0;
            for (let c = 0; c < C; c++) acc += cfg.x[c][pp][qq] * cfg.w[c][o][i][j];
            const fr = pp * g.stride[0] + i * g.dilation[0], fq = qq * g.stride[1] + j * g.dilation[1];
            if (acc < 0) neg[o][fr][fq] += acc; else pos[o][fr][fq] += acc;
          }
        for (let o = 0; o < O; o++) for (let i = 0; i < FH; i++) for (let j = 0; j < FW; j++) {
          if (cropped(i, j)) continue;
          sumRange[0] = Math.min(sumRange[0], neg[o][i][j]); sumRange[1] = Math.max(sumRange[1], pos[o][i][j]);
        }
      }
      const scatter = [
        figureHTML("input x", cfg.x.map((xch, c) => ({ key: `x${c}`, label: `x[${c}]`, rows: H, cols: Wd, cell: xc, hatch,
          value: (i, j) => xch[i][j], cls: () => role }))),
        figureHTML("kernel w", cfg.w.flatMap((wc, c) => wc.map((wo, o) => ({ key: `w${c}_${o}`, label: `w[${c}, ${o}]`,
          rows: kh, cols: kw, cell: ksz(kw), hatch, value: (i, j) => wo[i][j], cls: () => "k" })))),
        figureHTML("running sum on the full canvas (crop hatched)", r.full.map((_, o) => ({ key: `f${o}`,
          label: `canvas[${o}]`, rows: FH, cols: FW, cell: fc, hatch: xhatch, value: () => 0, range: sumRange,
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
      // only what changed is written (each write invalidates style; none of this reads layout)
      panels.querySelectorAll("figure.cvx-fig > figcaption").forEach((fc, n) => {
        const t = fc.firstElementChild, sc = scaleHTML(BUILT.scales[n]);
        if (t.textContent !== BUILT.captions[n]) t.innerHTML = BUILT.captions[n];
        if (fc.dataset.scale !== String(BUILT.scales[n])) {
          fc.dataset.scale = String(BUILT.scales[n]);
          while (t.nextSibling) t.nextSibling.remove();
          if (sc) t.insertAdjacentHTML("afterend", sc);
        }
      });
      for (const [key, d] of BUILT.grids) {
        if (prev.get(key).sig === d.sig) { built.set(key, grids[key].d); continue; }
        const wrap = panels.querySelector(`.cvx-gwrap[data-key="${key}"]`);
        if (wrap.firstElementChild.textContent !== d.label) wrap.firstElementChild.textContent = d.label;
        const g = grids[key], cv = g.canvas;
        if (g.d.rows !== d.rows || g.d.cols !== d.cols || g.d.cell !== d.cell) {
          // the same canvas, a new CSS size now (layout is right at once); its backing store is fitted
          // when it is painted (drawGrid: only ever enlarged)
          const W = d.cols * d.cell + 2, H = d.rows * d.cell + 2;
          cv.style.width = `${W}px`; cv.style.height = `${H}px`;
          Object.assign(cv.dataset, { cell: d.cell, rows: d.rows, cols: d.cols });
          cv.setAttribute("aria-label", `${d.label}: ${d.rows} by ${d.cols}; arrow keys move the cursor, the line below the grids shows its value`);
          g.marks.clear(); g.box = null; g.cursor = null; meta.add(g);
        }
        g.d = d; cv.dataset.values = JSON.stringify(d.vals); dirty.add(g);
      }
    } else {
      unsteady(); // another set of grids: the heights start afresh
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
    const html = lines.join("");
    if (html !== shown.formula) { formulaBox.innerHTML = html; shown.formula = html; }
  }

  function drawCode() {
    const c = codeLines(state.p, state.r);
    const html =
      `<div class="cvx-codeline"><span>PyTorch</span><pre class="cvx-torch">${esc(c.torch)}</pre><button type="button" data-copy="cvx-torch">copy</button></div>` +
      `<div class="cvx-codeline"><span>TensorFlow</span><pre class="cvx-tf">${esc(c.tf)}</pre><button type="button" data-copy="cvx-tf">copy</button></div>` +
      (c.note ? `<div class="cvx-note">${esc(c.note)}</div>` : "");
    if (html === shown.code) return;
    codeBox.innerHTML = shown.code = html;
    keepKeys(codeBox);
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
    let m = g.marks.get(i);
    if (!m) g.marks.set(i, (m = new Set()));
    if (m.has(cls)) return;
    m.add(cls);
    dirty.add(g); meta.add(g);
  }
  function markAll(key, cls) {
    const g = grids[key];
    if (!g) return;
    for (let r = 0; r < g.d.rows; r++) for (let c = 0; c < g.d.cols; c++) mark(key, r, c, cls);
  }
  function box(key, r0, c0, r1, c1) {
    const g = grids[key];
    if (!g) return;
    if (g.box && g.box[0] === r0 && g.box[1] === c0 && g.box[2] === r1 && g.box[3] === c1) return;
    g.box = [r0, c0, r1, c1];
    dirty.add(g); meta.add(g);
  }
  function clear(classes) {
    for (const g of Object.values(grids)) {
      let changed = false;
      for (const [i, set] of g.marks) {
        for (const c of classes) if (set.delete(c)) changed = true;
        if (!set.size) g.marks.delete(i);
      }
      if (changed) { dirty.add(g); meta.add(g); }
    }
  }
  function clearBoxes() {
    for (const g of Object.values(grids)) if (g.box) { g.box = null; dirty.add(g); meta.add(g); }
  }
  function setText(key, values) {
    const g = grids[key];
    if (!g) return;
    const json = JSON.stringify(values), root = g.d.root || g.d.sig;
    if (json === g.canvas.dataset.values) return;
    let lo = Infinity, hi = -Infinity;
    for (const row of values) for (const v of row) { if (v < lo) lo = v; if (v > hi) hi = v; }
    g.d = { ...g.d, vals: values, lo, hi, root, sig: `${root}|v${json}`, fontPx: 0 }; // longer numbers: a smaller font
    g.canvas.dataset.values = json;
    dirty.add(g);
  }

  const sub = (o, r, c) => `[${o}][${r}, ${c}]`;
  // the step's line below the grids: rewritten only when it changes (new nodes cost style, layout and paint;
  // a parameter change often leaves it as it was), and whenever a linked view's line (link()) is shown with it,
  // which goes with the rewrite (link() puts it back while the pointer is on a cell)
  function showDetail(html) {
    if (html === shown.detail && !detail.querySelector(".cvx-link-text")) return;
    detail.innerHTML = shown.detail = html;
  }
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
    const n = clampStep(model.get("step"));
    setProp(stepInput, "max", String(state.steps - 1));
    setProp(stepInput, "value", String(n));
    setProp(stepInput.nextElementSibling, "textContent", `${n + 1} / ${state.steps}`);
    const { p, cfg, r } = state;
    if (p.mode === "transpose") return stepTranspose(n);
    const g = r.geom, [Ho, Wo] = g.outHW, per = Ho * Wo;
    const o = Math.floor(n / per), rq = n % per, rr = Math.floor(rq / Wo), qq = rq % Wo;
    if (p.mode === "conv") {
      mark(`y${o}`, rr, qq, "cur");
      showWindow(o, rr, qq, "tap");
      const taps = windowOf(g, cfg.x, rr, qq);
      showDetail(productsText("y", o, rr, qq, taps, (tp) => cfg.w[o][tp.c][tp.i][tp.j], r.y[o][rr][qq]) +
        `<span class="cvx-hint">window: padded rows ${rr * g.stride[0]}…${rr * g.stride[0] + (g.kHW[0] - 1) * g.dilation[0]}, ` +
        `columns ${qq * g.stride[1]}…${qq * g.stride[1] + (g.kHW[1] - 1) * g.dilation[1]}, a tap every ${pairText(g.dilation)} ` +
        `(dilation). Hover, click or focus a cell (arrow keys) to link the views.</span>`);
    } else {
      mark(`d${o}`, rr, qq, "cur");
      showWindow(o, rr, qq, "tap");
      const [t, , l] = g.pads;
      for (const tp of windowOf(g, cfg.x, rr, qq)) if (tp.inside) for (let c = 0; c < cfg.x.length; c++) mark(`dx${c}`, tp.ir, tp.ic, "tap");
      for (let c = 0; c < cfg.x.length; c++) markAll(`dw${o}_${c}`, "kact");
      const dv = cfg.delta[o][rr][qq];
      showDetail(`<span class="cvx-eq" data-value="${dv}">δ${sub(o, rr, qq)} = ${fmt(dv)}: dL/dx += ${fmt(dv)} · w[${o}] ` +
        `stamped on the window (the transposed convolution); dL/dw[${o}] += ${fmt(dv)} · (the window of x)</span>` +
        `<span class="cvx-hint">window top-left at padded (${rr * g.stride[0]}, ${qq * g.stride[1]}), padding offset (${t}, ${l})</span>`);
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
    showDetail(`<span class="cvx-eq" data-value="${cfg.x[0][p][q]}">x[:, ${p}, ${q}] stamps x·w at rows ${p}·${sh} + i·${dh}, ` +
      `columns ${q}·${sw} + j·${dw}; ${n + 1} of ${H * W} stamps done, largest overlap ${maxc}</span>` +
      `<span class="cvx-hint">the outlined region is the output: padding crops ${pyPad(g.pads)}, ` +
      `output_padding ${pairText(r.outputPadding)} keeps extra rows/columns at the bottom/right (dashed)</span>`);
  }

  // ----------------------------------------------------------------- linked views (hover, focus + arrows)
  function unlink() { clear(["link"]); detail.querySelector(".cvx-link-text")?.remove(); }
  function link(key, rr, cc) {
    if (!state) return;
    const gg = grids[key];
    if (!gg || rr < 0 || cc < 0 || rr >= gg.d.rows || cc >= gg.d.cols) return; // e.g. a hover from before a resize
    unlink(); // (a cell with no line of its own leaves none behind)
    const { p, cfg, r } = state, g = r.geom, C = cfg.x.length;
    const kind = key.replace(/[\d_]+$/, ""), ids = key.slice(kind.length).split("_").map(Number);
    const gv = grids[key] ? grids[key].d.vals[rr][cc] : null;
    const say = (html, prefix = true) => {
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
    hover = null; unlink(); flush();
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
    if (!g) return;
    g.cursor = null; dirty.add(g);
    if (!hover) unlink(); // the pointer's link stays
    flush();
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
  // several traits changed together (Python's update(), one comm message; output_size with output_padding):
  // one redraw, in a microtask (it runs before the event's next listener, before any other script reads the DOM)
  const onParam = () => {
    if (fullPending) return;
    fullPending = true;
    queueMicrotask(() => { fullPending = false; full(); });
  };
  const onStep = () => {
    if (fullPending) return;
    const s = model.get("step");
    if (state && clampStep(s) !== s) { model.set("step", clampStep(s)); save(); return; } // (its own change event draws it)
    drawStep(); if (hover && grids[hover[0]]) link(...hover); flush();
  };
  // Python's Explorer.update() refuses invalid values and says why in `error` (the traits keep their values)
  const onError = () => { const m = model.get("error") || ""; if (m !== shownError) showError(m); };
  for (const k of PARAMS) model.on(`change:${k}`, onParam);
  model.on("change:step", onStep);
  model.on("change:error", onError);
  // steady layout: the panels, the formula and the products line only ever grow while the width and the set of
  // grids stay (a kernel size going 4 -> 3 keeps the height it had): nothing below moves back and forth under
  // the reader's eyes, and a parameter change does not shift (and repaint) the rest of the page. The heights
  // come from a resize observer (after layout: no forced layout); unsteady() lets them shrink again.
  const steadyEls = [formulaBox, panels, detail];
  const steadyH = new Map();
  const steady = typeof ResizeObserver === "undefined" ? null : new ResizeObserver((entries) => {
    for (const e of entries) {
      const box = e.borderBoxSize && e.borderBoxSize[0];
      const h = box ? box.blockSize : e.contentRect.height; // exact (a rounded-up height would shift the page)
      if (h > (steadyH.get(e.target) || 0)) { steadyH.set(e.target, h); e.target.style.minHeight = `${h}px`; }
    }
  });
  unsteady = () => { for (const x of steadyEls) { steadyH.delete(x); x.style.minHeight = ""; } };
  if (steady) for (const x of steadyEls) steady.observe(x);
  let ro = null;
  if (typeof ResizeObserver !== "undefined") {
    ro = new ResizeObserver(() => {
      const w = root.clientWidth; // layout is up to date when resize observers run
      widthNow = w;
      // resize observers run within the frame's rendering steps: paint now, in this frame
      if (P && !P.complete) { P = null; for (const g of Object.values(grids)) dirty.add(g); flush(true); } // now attached
      if (state && Math.abs(w - lastWidth) > 24) { unsteady(); drawPanels(); drawStep(); if (hover && grids[hover[0]]) link(...hover); flush(true); }
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
    if (painting) cancelAnimationFrame(painting);
    themed.disconnect();
    if (ro) ro.disconnect();
    if (steady) steady.disconnect();
    for (const k of PARAMS) model.off(`change:${k}`, onParam);
    model.off("change:step", onStep);
    model.off("change:error", onError);
  };
}

export default { render };
