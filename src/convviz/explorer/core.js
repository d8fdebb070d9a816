// convviz explorer core: the arithmetic the explorers display, no DOM.
//
// A second implementation of convviz's geometry and ops (src/convviz/geometry.py, ops.py), proven equal
// to it in Chromium by tests/test_explorer_core.py. Layouts follow convviz: x is (C, H, W), conv weights
// (O, C, kh, kw), transposed-conv weights (C_in, C_out, kh, kw). Invalid parameters throw a
// ConvvizError whose message is convviz's ValueError text, verbatim.

export class ConvvizError extends Error {
  constructor(message) { super(message); this.name = "ConvvizError"; }
}
const fail = (msg) => { throw new ConvvizError(msg); };

// ---------------------------------------------------------------- Python-style reprs for messages
export function pyRepr(v) {
  if (v === null || v === undefined) return "None";
  if (typeof v === "string") return "'" + v + "'";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (Array.isArray(v)) return v.length === 1 ? "(" + pyRepr(v[0]) + ",)" : "(" + v.map(pyRepr).join(", ") + ")";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : pyFloat(v);
  return String(v);
}
function pyFloat(v) {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  return String(v);
}
const pyList = (a) => "[" + a.join(", ") + "]";
const isInt = (v) => typeof v === "number" && Number.isInteger(v);

// ---------------------------------------------------------------- geometry (convviz.geometry)
export function checkInt(name, value, minimum) {
  if (!isInt(value) || value < minimum) fail(`${name} must be an integer >= ${minimum}, got ${pyRepr(value)}`);
  return value;
}
export function pair(value, name, minimum = 1) {
  if (Array.isArray(value)) {
    if (value.length !== 2) fail(`${name} must be an int or a pair (h, w), got ${pyRepr(value)}`);
    return [checkInt(`${name}[0]`, value[0], minimum), checkInt(`${name}[1]`, value[1], minimum)];
  }
  const v = checkInt(name, value, minimum);
  return [v, v];
}
export const effectiveKernel = (k, d = 1) => d * (k - 1) + 1;

export function samePadding(i, k, stride = 1, dilation = 1) {
  checkInt("input size", i, 1); checkInt("kernel_size", k, 1);
  checkInt("stride", stride, 1); checkInt("dilation", dilation, 1);
  const out = Math.ceil(i / stride);
  const total = Math.max(0, (out - 1) * stride + effectiveKernel(k, dilation) - i);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}
const BAD_STRING = (p) => `padding must be an int >= 0, a tuple, 'valid' or 'same', got ${pyRepr(p)}`;

function padding1d(spec, i, k, s, d) {
  if (typeof spec === "string") {
    const mode = spec.toLowerCase();
    if (mode === "valid") return [0, 0];
    if (mode === "same") return samePadding(i, k, s, d);
    fail(BAD_STRING(spec));
  }
  return [checkInt("padding", spec[0], 0), checkInt("padding", spec[1], 0)];
}

/** Any padding spec -> [top, bottom, left, right] (convviz.geometry.resolve_padding). */
export function resolvePadding(padding, inHW, kHW, sHW, dHW) {
  let specs;
  if (typeof padding === "string") {
    if (!["valid", "same"].includes(padding.toLowerCase())) fail(BAD_STRING(padding));
    specs = [padding, padding];
  } else if (isInt(padding)) {
    const p = checkInt("padding", padding, 0);
    specs = [[p, p], [p, p]];
  } else if (Array.isArray(padding) && padding.length === 2) {
    const ph = checkInt("padding[0]", padding[0], 0), pw = checkInt("padding[1]", padding[1], 0);
    specs = [[ph, ph], [pw, pw]];
  } else if (Array.isArray(padding) && padding.length === 4) {
    const [t, b, l, r] = padding.map((v, n) => checkInt(`padding[${n}]`, v, 0));
    specs = [[t, b], [l, r]];
  } else {
    fail("padding must be an int >= 0, (ph, pw), (top, bottom, left, right), 'valid' or 'same', " +
         `got ${pyRepr(padding)}`);
  }
  const [t, b] = padding1d(specs[0], inHW[0], kHW[0], sHW[0], dHW[0]);
  const [l, r] = padding1d(specs[1], inHW[1], kHW[1], sHW[1], dHW[1]);
  return [t, b, l, r];
}

/** Output length along one axis with (before, after) padding (convviz.geometry.conv_output_size). */
export function convOutputSize(i, k, stride, before, after, dilation) {
  const padded = i + before + after, keff = effectiveKernel(k, dilation);
  if (keff > padded) {
    fail(`kernel_size ${k} with dilation ${dilation} spans ${keff} elements, larger than the padded ` +
         `input (${i} + ${before} + ${after} = ${padded}); allowed: d*(k-1)+1 <= padded input size`);
  }
  return Math.floor((padded - keff) / stride) + 1;
}

/** {inHW, kHW, stride, dilation, pads, outHW} of a convolution (convviz's conv_geometry). */
export function convGeometry(inHW, kHW, stride, padding, dilation) {
  const s = pair(stride, "stride"), d = pair(dilation, "dilation");
  checkInt("input size", inHW[0], 1); checkInt("input size", inHW[1], 1);
  checkInt("kernel_size", kHW[0], 1); checkInt("kernel_size", kHW[1], 1);
  const pads = resolvePadding(padding, inHW, kHW, s, d);
  const outHW = [0, 1].map((a) => convOutputSize(inHW[a], kHW[a], s[a], pads[2 * a], pads[2 * a + 1], d[a]));
  return { inHW: [...inHW], kHW: [...kHW], stride: s, dilation: d, pads, outHW };
}

/** Every transposed output length whose forward convolution has length i (transpose_output_sizes). */
export function transposeOutputSizes(i, k, stride, spec, dilation) {
  if (typeof spec === "string" && spec.toLowerCase() === "same") {
    const out = [];
    for (let o = stride * (i - 1) + 1; o <= stride * i; o++) out.push(o);
    return out;
  }
  const [before, after] = typeof spec === "string" ? padding1d(spec, i, k, stride, dilation) : spec;
  const base = (i - 1) * stride - before - after + effectiveKernel(k, dilation);
  const out = [];
  for (let o = Math.max(1, base); o < base + stride; o++)
    if (convOutputSize(o, k, stride, before, after, dilation) === i) out.push(o);
  return out;
}

function outputPaddingFor(i, o, k, s, spec, d) {
  checkInt("output_size", o, 1);
  const valid = transposeOutputSizes(i, k, s, spec, d);
  if (!valid.includes(o)) {
    fail(`output_size ${o} is not reachable: a convolution with kernel ${k}, stride ${s}, ` +
         `padding ${pyRepr(spec)}, dilation ${d} maps only sizes ${pyList(valid)} to input size ${i}`);
  }
  let pads;
  if (typeof spec === "string" && spec.toLowerCase() === "same") pads = samePadding(o, k, s, d);
  else if (typeof spec === "string") pads = [0, 0];
  else pads = spec;
  const base = (i - 1) * s - pads[0] - pads[1] + effectiveKernel(k, d);
  return [pads, o - base];
}

function checkOutputPadding(op, s, d) {
  checkInt("output_padding", op, 0);
  const limit = Math.max(s, d);
  if (op >= limit) fail(`output_padding must be in [0, max(stride, dilation) - 1] = [0, ${limit - 1}], got ${op}`);
  return op;
}

/** Transposed conv as the adjoint of a forward conv (convviz's transpose_geometry):
 *  {geom (forward: inHW = transposed output), outputPadding: [oph, opw], validSizes: [[..], [..]]}. */
export function transposeGeometry(inHW, kHW, { stride = 1, padding = 0, output_padding = 0, dilation = 1,
                                               output_size = null } = {}) {
  const s = pair(stride, "stride"), d = pair(dilation, "dilation");
  let op = pair(output_padding, "output_padding", 0);
  checkInt("input size", inHW[0], 1); checkInt("input size", inHW[1], 1);
  checkInt("kernel_size", kHW[0], 1); checkInt("kernel_size", kHW[1], 1);
  let pads, specs;
  const isSame = typeof padding === "string" && padding.toLowerCase() === "same";
  if (output_size !== null && output_size !== undefined) {
    if (op[0] !== 0 || op[1] !== 0) {
      fail(`give either output_padding or output_size, not both: got output_padding=${pyRepr(output_padding)} ` +
           `and output_size=${pyRepr(output_size)}; allowed: output_padding=0 when output_size is given`);
    }
    const osz = pair(output_size, "output_size");
    if (typeof padding === "string") specs = [padding, padding];
    else {
      const full = resolvePadding(padding, inHW, kHW, s, d);
      specs = [full.slice(0, 2), full.slice(2, 4)];
    }
    const res = [0, 1].map((a) => outputPaddingFor(inHW[a], osz[a], kHW[a], s[a], specs[a], d[a]));
    pads = [...res[0][0], ...res[1][0]];
    op = [res[0][1], res[1][1]];
  } else {
    for (const a of [0, 1]) checkOutputPadding(op[a], s[a], d[a]);
    if (isSame) {
      if (op[0] !== 0 || op[1] !== 0) {
        fail(`output_padding must be 0 with padding='same', got ${pyRepr(output_padding)}; ` +
             "pick the size with output_size instead");
      }
      const res = [0, 1].map((a) => outputPaddingFor(inHW[a], inHW[a] * s[a], kHW[a], s[a], "same", d[a]));
      pads = [...res[0][0], ...res[1][0]];
      op = [res[0][1], res[1][1]];
      specs = ["same", "same"];
    } else {
      pads = resolvePadding(padding, inHW, kHW, s, d);
      specs = typeof padding === "string" ? [padding, padding] : [pads.slice(0, 2), pads.slice(2, 4)];
    }
  }
  const out = [];
  for (const a of [0, 1]) {
    const o = (inHW[a] - 1) * s[a] + effectiveKernel(kHW[a], d[a]) + op[a] - pads[2 * a] - pads[2 * a + 1];
    if (o < 1) {
      fail(`padding ${pyRepr(pads.slice(2 * a, 2 * a + 2))} crops the whole output along axis ${a}: ` +
           `(i-1)*s - p + d*(k-1) + output_padding + 1 = ${o}; allowed: an output size >= 1`);
    }
    out.push(o);
  }
  const validSizes = [0, 1].map((a) => transposeOutputSizes(inHW[a], kHW[a], s[a], specs[a], d[a]));
  return { geom: { inHW: out, kHW: [...kHW], stride: s, dilation: d, pads, outHW: [...inHW] },
           outputPadding: op, validSizes };
}

// ---------------------------------------------------------------- arrays
export const zeros2 = (h, w) => Array.from({ length: h }, () => new Array(w).fill(0));
export const zeros3 = (c, h, w) => Array.from({ length: c }, () => zeros2(h, w));
const shape3 = (a) => [a.length, a[0].length, a[0][0].length];
const shape4 = (a) => [a.length, a[0].length, a[0][0].length, a[0][0][0].length];

/** The padded input value at padded coordinates (r, c) of channel ch (0 outside the input). */
function padAt(xc, r, c, t, l) {
  const rr = r - t, cc = c - l;
  return rr >= 0 && rr < xc.length && cc >= 0 && cc < xc[0].length ? xc[rr][cc] : 0;
}

// ---------------------------------------------------------------- convolution
/** conv2d: {geom, y (O, Ho, Wo), formula: [H, W] strings}. */
export function conv(cfg) {
  const { x, w } = cfg;
  const [C, H, W] = shape3(x), [O, Cw, kh, kw] = shape4(w);
  if (Cw !== C) fail(`w has ${Cw} input channels (w.shape[1]) but x has ${C} channels (x.shape[1]); they must match`);
  const g = convGeometry([H, W], [kh, kw], cfg.stride ?? 1, cfg.padding ?? 0, cfg.dilation ?? 1);
  const [t, , l] = g.pads, [sh, sw] = g.stride, [dh, dw] = g.dilation, [Ho, Wo] = g.outHW;
  const y = zeros3(O, Ho, Wo);
  for (let o = 0; o < O; o++)
    for (let r = 0; r < Ho; r++)
      for (let q = 0; q < Wo; q++) {
        let acc = 0;
        for (let c = 0; c < C; c++)
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) acc += w[o][c][i][j] * padAt(x[c], r * sh + i * dh, q * sw + j * dw, t, l);
        y[o][r][q] = acc;
      }
  return { geom: g, y, formula: convFormula(g) };
}

export function convFormula(g) {
  return [0, 1].map((a) => {
    const [i, k, s, d, b, e, o] = [g.inHW[a], g.kHW[a], g.stride[a], g.dilation[a], g.pads[2 * a], g.pads[2 * a + 1], g.outHW[a]];
    return "o = floor((i + p_before + p_after - d(k-1) - 1) / s) + 1 = " +
      `floor((${i} + ${b} + ${e} - ${d}*(${k}-1) - 1) / ${s}) + 1 = ${o}`;
  });
}

/** The window of output cell (r, q): taps [{c, i, j, pr, pc, inside, x}] in padded coordinates. */
export function windowOf(g, x, r, q) {
  const [t, , l] = g.pads, [sh, sw] = g.stride, [dh, dw] = g.dilation, [kh, kw] = g.kHW;
  const taps = [];
  for (let c = 0; c < x.length; c++)
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        const pr = r * sh + i * dh, pc = q * sw + j * dw, ir = pr - t, ic = pc - l;
        const inside = ir >= 0 && ir < g.inHW[0] && ic >= 0 && ic < g.inHW[1];
        taps.push({ c, i, j, pr, pc, ir, ic, inside, x: inside ? x[c][ir][ic] : 0 });
      }
  return taps;
}

/** Output cells [r, q] whose window reads input pixel (ir, ic) (a column of the Jacobian), with the tap. */
export function inputFeeds(g, ir, ic) {
  const [t, , l] = g.pads, [sh, sw] = g.stride, [dh, dw] = g.dilation, [kh, kw] = g.kHW, [Ho, Wo] = g.outHW;
  const out = [];
  for (let r = 0; r < Ho; r++)
    for (let q = 0; q < Wo; q++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++)
          if (r * sh + i * dh === ir + t && q * sw + j * dw === ic + l) out.push({ r, q, i, j });
  return out;
}

/** Input pixels [ir, ic] (unpadded; may be outside = padding) that kernel tap (i, j) multiplies. */
export function weightInputs(g, i, j) {
  const [t, , l] = g.pads, [sh, sw] = g.stride, [dh, dw] = g.dilation, [Ho, Wo] = g.outHW;
  const out = [];
  for (let r = 0; r < Ho; r++)
    for (let q = 0; q < Wo; q++) {
      const pr = r * sh + i * dh, pc = q * sw + j * dw;
      out.push({ r, q, pr, pc, ir: pr - t, ic: pc - l,
                 inside: pr - t >= 0 && pr - t < g.inHW[0] && pc - l >= 0 && pc - l < g.inHW[1] });
    }
  return out;
}

// ---------------------------------------------------------------- transposed convolution
/** conv_transpose2d in both views. */
export function transpose(cfg) {
  const { x, w } = cfg;
  const [C, H, W] = shape3(x), [Cw, O, kh, kw] = shape4(w);
  if (Cw !== C) fail(`w has ${Cw} input channels (w.shape[0]) but x has ${C} channels (x.shape[1]); they must match`);
  const { geom: g, outputPadding: op, validSizes } = transposeGeometry([H, W], [kh, kw], cfg);
  const [t, b, l, r] = g.pads, [sh, sw] = g.stride, [dh, dw] = g.dilation;
  const FH = (H - 1) * sh + effectiveKernel(kh, dh) + op[0], FW = (W - 1) * sw + effectiveKernel(kw, dw) + op[1];
  // scatter view: every input pixel stamps its value times the kernel on the full canvas
  const full = zeros3(O, FH, FW), counts = zeros2(FH, FW);
  for (let p = 0; p < H; p++)
    for (let q = 0; q < W; q++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          const fr = p * sh + i * dh, fc = q * sw + j * dw;
          counts[fr][fc] += 1;
          for (let o = 0; o < O; o++) {
            let acc = 0;
            for (let c = 0; c < C; c++) acc += x[c][p][q] * w[c][o][i][j];
            full[o][fr][fc] += acc;
          }
        }
  const [Ho, Wo] = g.inHW;
  const y = full.map((ch) => ch.slice(t, t + Ho).map((row) => row.slice(l, l + Wo)));
  // direct view: zero insertion, padding d(k-1) - p (+ output_padding bottom/right), rotated kernel, stride 1
  const eh = dh * (kh - 1), ew = dw * (kw - 1);
  const dpads = [eh - t, eh - b + op[0], ew - l, ew - r + op[1]];
  const ZH = (H - 1) * sh + 1, ZW = (W - 1) * sw + 1;
  const z = zeros3(C, ZH, ZW);
  for (let c = 0; c < C; c++) for (let p = 0; p < H; p++) for (let q = 0; q < W; q++) z[c][p * sh][q * sw] = x[c][p][q];
  const PH = ZH + dpads[0] + dpads[1], PW = ZW + dpads[2] + dpads[3];
  // kind of each cell of the padded/cropped zero-inserted grid: 2 = real pixel, 1 = inserted zero, 0 = padding
  const zp = zeros3(C, PH, PW), kind = zeros2(PH, PW);
  for (let rr = 0; rr < PH; rr++)
    for (let cc = 0; cc < PW; cc++) {
      const zr = rr - dpads[0], zc = cc - dpads[2];
      if (zr >= 0 && zr < ZH && zc >= 0 && zc < ZW) {
        kind[rr][cc] = zr % sh === 0 && zc % sw === 0 ? 2 : 1;
        for (let c = 0; c < C; c++) zp[c][rr][cc] = z[c][zr][zc];
      }
    }
  const wf = Array.from({ length: O }, (_, o) => Array.from({ length: C }, (_, c) =>
    Array.from({ length: kh }, (_, i) => Array.from({ length: kw }, (_, j) => w[c][o][kh - 1 - i][kw - 1 - j]))));
  const yd = zeros3(O, Ho, Wo);
  for (let o = 0; o < O; o++)
    for (let rr = 0; rr < Ho; rr++)
      for (let cc = 0; cc < Wo; cc++) {
        let acc = 0;
        for (let c = 0; c < C; c++)
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) acc += wf[o][c][i][j] * zp[c][rr + i * dh][cc + j * dw];
        yd[o][rr][cc] = acc;
      }
  return { geom: g, outputPadding: op, validSizes, fullHW: [FH, FW], full, counts, y, outHW: [Ho, Wo],
           direct: { pads: dpads, zHW: [ZH, ZW], z, zp, kind, wf, y: yd }, formula: transposeFormula(cfg, g, op, [H, W]) };
}

/** Overlap counts on the full canvas after stamping the first n input pixels (row-major). */
export function runningCounts(g, inHW, fullHW, n) {
  const counts = zeros2(fullHW[0], fullHW[1]), [sh, sw] = g.stride, [dh, dw] = g.dilation, [kh, kw] = g.kHW;
  for (let idx = 0; idx < Math.min(n, inHW[0] * inHW[1]); idx++) {
    const p = Math.floor(idx / inHW[1]), q = idx % inHW[1];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) counts[p * sh + i * dh][q * sw + j * dw] += 1;
  }
  return counts;
}

export function transposeFormula(cfg, g, op, inHW) {
  const same = typeof cfg.padding === "string" && cfg.padding.toLowerCase() === "same";
  return [0, 1].map((a) => {
    const [i, k, s, d, b, e, o] = [inHW[a], g.kHW[a], g.stride[a], g.dilation[a], g.pads[2 * a], g.pads[2 * a + 1], g.inHW[a]];
    if (same && (cfg.output_size === null || cfg.output_size === undefined)) return `SAME: o = i * s = ${i} * ${s} = ${o}`;
    return "o = (i-1)s - p_before - p_after + d(k-1) + output_padding + 1 = " +
      `(${i}-1)*${s} - ${b} - ${e} + ${d}*(${k}-1) + ${op[a]} + 1 = ${o}`;
  });
}

// ---------------------------------------------------------------- gradients of conv2d
/** For delta = dL/dy: dL/dx (transposed conv of delta) and dL/dw (x correlated with delta dilated by s). */
export function gradient(cfg) {
  const { x, w, delta } = cfg;
  const fwd = conv(cfg), g = fwd.geom;
  const [C, H, W] = shape3(x), [O, , kh, kw] = shape4(w);
  const [t, b, l, r] = g.pads, [sh, sw] = g.stride, [dh, dw] = g.dilation, [Ho, Wo] = g.outHW;
  if (delta.length !== O || delta[0].length !== Ho || delta[0][0].length !== Wo) {
    fail(`grad_out must have shape (1, ${O}, ${Ho}, ${Wo}) (N, C_out, H_out, W_out) for this convolution, ` +
         `got (1, ${delta.length}, ${delta[0].length}, ${delta[0][0].length})`);
  }
  const canvas = zeros3(C, H + t + b, W + l + r);
  const dw_ = Array.from({ length: O }, () => zeros3(C, kh, kw));
  for (let o = 0; o < O; o++)
    for (let p = 0; p < Ho; p++)
      for (let q = 0; q < Wo; q++) {
        const dv = delta[o][p][q];
        for (let c = 0; c < C; c++)
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) canvas[c][p * sh + i * dh][q * sw + j * dw] += dv * w[o][c][i][j];
      }
  for (let o = 0; o < O; o++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          let acc = 0;
          for (let p = 0; p < Ho; p++)
            for (let q = 0; q < Wo; q++) acc += delta[o][p][q] * padAt(x[c], p * sh + i * dh, q * sw + j * dw, t, l);
          dw_[o][c][i][j] = acc;
        }
  const dx = canvas.map((ch) => ch.slice(t, t + H).map((row) => row.slice(l, l + W)));
  // dL/dx as conv_transpose2d(delta, w, stride, padding, output_padding=a, dilation): a restores H
  const a = [(H + t + b - effectiveKernel(kh, dh)) % sh, (W + l + r - effectiveKernel(kw, dw)) % sw];
  return { geom: g, y: fwd.y, formula: fwd.formula, canvas, dx, dw: dw_, transposeOutputPadding: a };
}

/** One entry point: cfg.mode is "conv", "transpose" or "gradient". */
export function compute(cfg) {
  if (cfg.mode === "transpose") return transpose(cfg);
  if (cfg.mode === "gradient") return gradient(cfg);
  return conv(cfg);
}

// ---------------------------------------------------------------- explorer parameters -> core config
export const LIMITS = { input_size: [1, 16], kernel_size: [1, 7], stride: [1, 4], dilation: [1, 3],
                        channels: [1, 3], filters: [1, 2] };

/** The explorer's named choices (convviz.widgets.CHOICES). */
export const CHOICES = { mode: ["conv", "transpose", "gradient"], delta: ["ones", "random"], role: ["input", "gradient"] };

/** Explorer limits and choices (beyond convviz's rules): a message naming the parameter and what it may be. */
export function checkLimits(p) {
  for (const [name, opts] of Object.entries(CHOICES)) {
    if (p[name] !== undefined && !opts.includes(p[name]))
      fail(`${name} must be one of ${opts.map(pyRepr).join(", ")} in this explorer, got ${pyRepr(p[name])}`);
  }
  for (const [name, [lo, hi]] of Object.entries(LIMITS)) {
    if (p[name] === undefined) continue;
    const v = p[name];
    if (!isInt(v) || v < lo || v > hi) fail(`${name} must be an integer in [${lo}, ${hi}] in this explorer, got ${pyRepr(v)}`);
  }
}

const cut3 = (a, c, h, w) => a.slice(0, c).map((ch) => ch.slice(0, h).map((row) => row.slice(0, w)));
const cut4 = (a, o, c, h, w) => a.slice(0, o).map((f) => cut3(f, c, h, w));

/** Build the core config from explorer parameters and base data ({x, xt, w, delta} full-size arrays). */
export function configFrom(p, base) {
  checkLimits(p);
  const C = p.channels ?? 1, O = p.filters ?? 1;
  const custom = p.x && p.x.length;
  const x = custom ? p.x : cut3(p.mode === "transpose" ? base.xt : base.x, C, p.input_size, p.input_size);
  const k = p.kernel_size;
  const wsrc = p.w && p.w.length ? p.w : null;
  let w;
  if (p.mode === "transpose") w = wsrc || cut4(base.w, x.length, O, k, k);
  else w = wsrc || cut4(base.w, O, x.length, k, k);
  const cfg = { mode: p.mode, x, w, stride: p.stride, padding: p.padding, dilation: p.dilation,
                output_padding: p.output_padding ?? 0, output_size: p.output_size ?? null };
  return cfg;
}

/** The upstream gradient delta for the output shape: ones, or small integers cut from base.delta. */
export function deltaFor(kind, base, O, Ho, Wo) {
  if (kind === "ones") return zeros3(O, Ho, Wo).map((ch) => ch.map((row) => row.map(() => 1)));
  const d = base.delta; // repeated when the output is larger than the stored block
  return zeros3(O, Ho, Wo).map((ch, o) => ch.map((row, r) => row.map((_, c) =>
    d[o % d.length][r % d[0].length][c % d[0][0].length])));
}
