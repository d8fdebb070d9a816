"""Benchmark ``convviz.jacobian`` against PyTorch and TensorFlow (issue 11).

Target: the analytic Jacobian, timed COLD (``clear_cache()`` before every call,
so the sparsity pattern is built from scratch as for a geometry never seen
before), is >= 20x faster than the faster framework computing the same dense
Jacobian.

What is timed, per case (median of per-call times, several interleaved rounds):

* convviz cold: ``clear_cache(); jacobian(op, x, w, wrt=..., **params)``
  (only the ``jacobian`` call is inside the timer);
* convviz warm: the same call with the pattern cached;
* torch: the fastest of ``torch.autograd.functional.jacobian(vectorize=True)``,
  ``torch.func.jacrev`` and ``torch.func.jacfwd`` (forward mode wins when the
  kernel has few weights), all on ``torch.nn.functional`` ops, after warm-up
  calls on the same shape;
* TF: ``tape.jacobian`` (``experimental_use_pfor`` default, i.e. vectorised)
  inside a ``tf.function`` traced for the shape beforehand (so no tracing is
  timed) and ``.numpy()``; NHWC layouts, numeric padding as ``tf.pad`` + VALID
  (pfor cannot vectorise the kernel gradient of an EXPLICIT-padded conv) and a
  cropped VALID ``conv2d_transpose`` for the transposed op.

Both frameworks are warmed up on a different shape first (imports, thread pools,
kernels), then timed at their steady state for the case's own shape: the most
favourable setting for them.  Every framework result is checked against
convviz's before timing.

    .venv/bin/python benchmarks/bench_jacobian.py            # all cases
    .venv/bin/python benchmarks/bench_jacobian.py --quick    # conv2d only, fewer rounds
    .venv/bin/python benchmarks/bench_jacobian.py --module old_jacobian.py   # time another copy
        (e.g. ``git show HEAD:src/convviz/jacobian.py > old_jacobian.py``), same process
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

import convviz as cv  # noqa: F401  (the package; the module is in sys.modules)

JAC = sys.modules["convviz.jacobian"]


def load_module(path):
    """Another copy of jacobian.py, imported as a submodule of convviz (its relative imports work)."""
    spec = importlib.util.spec_from_file_location("convviz._bench_other_jacobian", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def per_call(fn, budget=0.08, min_n=5, setup=None):
    """Median per-call time (s) of ``fn`` over ~``budget`` seconds, each call timed alone."""
    samples = []
    t_end = time.perf_counter() + budget
    while len(samples) < min_n or time.perf_counter() < t_end:
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
        if len(samples) >= 2000:
            break
    return statistics.median(samples)


# ----------------------------------------------------------------------------
# the cases
# ----------------------------------------------------------------------------
class Case:
    def __init__(self, op, hw, c, o, stride, pad, output_padding=0, k=3, n=1):
        self.op, self.hw, self.c, self.o, self.s, self.p, self.op_pad, self.k, self.n = (
            op, hw, c, o, stride, pad, output_padding, k, n)

    @property
    def params(self):
        p = dict(stride=self.s, padding=self.p)
        if self.op == "conv_transpose2d":
            p["output_padding"] = self.op_pad
        return p

    def label(self):
        extra = f" op{self.op_pad}" if self.op == "conv_transpose2d" else ""
        return f"{self.op} {self.hw}x{self.hw} c{self.c}->{self.o} s{self.s} p{self.p}{extra}"

    def arrays(self, rng):
        x = rng.standard_normal((self.n, self.c, self.hw, self.hw)).astype(np.float32)
        if self.op == "conv2d":
            w = rng.standard_normal((self.o, self.c, self.k, self.k)).astype(np.float32)  # OIHW
        else:
            w = rng.standard_normal((self.c, self.o, self.k, self.k)).astype(np.float32)  # (C_in, C_out, kh, kw)
        return x, w


def cases(quick=False):
    out = []
    ops = ("conv2d",) if quick else ("conv2d", "conv_transpose2d")
    for op in ops:
        for hw in (8, 16, 28):
            out.append(Case(op, hw, 1, 1, 1, 0))
            out.append(Case(op, hw, 2, 2, 2, 1, output_padding=1 if op == "conv_transpose2d" else 0))
    return out


# ----------------------------------------------------------------------------
# framework runners
# ----------------------------------------------------------------------------
def torch_runners(case, x, w, wrt):
    import torch
    import torch.nn.functional as F

    X, W = torch.from_numpy(x), torch.from_numpy(w)
    if case.op == "conv2d":
        def f(a, k):
            return F.conv2d(a, k, stride=case.s, padding=case.p)
    else:
        def f(a, k):
            return F.conv_transpose2d(a, k, stride=case.s, padding=case.p, output_padding=case.op_pad)
    if wrt == "input":
        g, arg = (lambda a: f(a, W)), X
    else:
        g, arg = (lambda k: f(X, k)), W
    jacrev, jacfwd = torch.func.jacrev(g), torch.func.jacfwd(g)
    return {
        "autograd.functional.jacobian(vectorize=True)":
            lambda: torch.autograd.functional.jacobian(g, arg, vectorize=True).numpy(),
        "func.jacrev": lambda: jacrev(arg).numpy(),
        "func.jacfwd": lambda: jacfwd(arg).numpy(),
    }


def tf_runner(case, x, w, wrt):
    """tape.jacobian in a tf.function, NHWC; returns (fn, to_nchw) where to_nchw maps its result to convviz's layout."""
    import tensorflow as tf

    X = tf.constant(x.transpose(0, 2, 3, 1))
    Wt = tf.constant(w.transpose(2, 3, 1, 0))  # OIHW -> HWIO; (Ci, Co, kh, kw) -> (kh, kw, Co, Ci) = HWOI
    p, s = case.p, case.s
    if case.op == "conv2d":
        def f(a, k):
            if p:
                a = tf.pad(a, [[0, 0], [p, p], [p, p], [0, 0]])
            return tf.nn.conv2d(a, k, s, "VALID")
    else:
        full = (case.hw - 1) * s + case.k + case.op_pad

        def f(a, k):
            y = tf.nn.conv2d_transpose(a, k, [case.n, full, full, case.o], s, "VALID")
            return y[:, p:full - p, p:full - p, :] if p else y

    @tf.function
    def jac(a, k):
        with tf.GradientTape() as tape:
            tape.watch(a if wrt == "input" else k)
            y = f(a, k)
        return tape.jacobian(y, a if wrt == "input" else k)

    def to_nchw(J):
        J = np.transpose(J, (0, 3, 1, 2, 4, 5, 6, 7))  # output NHWC -> NCHW
        if wrt == "input":
            return np.transpose(J, (0, 1, 2, 3, 4, 7, 5, 6))
        return np.transpose(J, (0, 1, 2, 3, 7, 6, 4, 5))  # HWIO -> OIHW, HWOI -> IOHW

    return (lambda: jac(X, Wt).numpy()), to_nchw


def warm_up_frameworks(rng):
    """First calls of every runner on a shape no case uses (imports, thread pools, first kernels)."""
    c = Case("conv2d", 5, 1, 1, 1, 0)
    x, w = c.arrays(rng)
    for wrt in ("input", "kernel"):
        for fn in torch_runners(c, x, w, wrt).values():
            fn()
        fn, _ = tf_runner(c, x, w, wrt)
        fn()
        fn()


# ----------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="conv2d only, 2 rounds")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per case (median taken)")
    ap.add_argument("--module", help="time this copy of jacobian.py as well (column 'other cold')")
    ap.add_argument("--no-frameworks", action="store_true", help="convviz only")
    args = ap.parse_args()
    rounds = 2 if args.quick and args.rounds == 3 else args.rounds
    other = load_module(args.module) if args.module else None

    rng = np.random.default_rng(0)
    if not args.no_frameworks:
        import tensorflow as tf
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
              f"tf {tf.__version__}, cores {os.cpu_count()}")
        warm_up_frameworks(rng)
    print("convviz cold = clear_cache() before every timed call; frameworks at steady state (same-shape warm-up, "
          "tf.function traced); medians of per-call times over", rounds, "interleaved rounds")
    head = f"{'case':<40s} {'wrt':<6s} {'cv cold':>9s} {'cv warm':>9s}"
    if other is not None:
        head += f" {'other cold':>10s}"
    head += f" {'torch':>9s} {'TF':>9s} {'ratio':>7s}  fastest torch API"
    print(head + "   (times in ms; ratio = faster framework / convviz cold)")
    ratios = []
    for case in cases(args.quick):
        x, w = case.arrays(rng)
        for wrt in ("input", "kernel"):
            ours = lambda: JAC.jacobian(case.op, x, w, wrt=wrt, **case.params)  # noqa: E731
            ref = ours()
            fns = {"cold": (ours, JAC.clear_cache), "warm": (ours, None)}
            if other is not None:
                fns["other"] = (lambda: other.jacobian(case.op, x, w, wrt=wrt, **case.params), other.clear_cache)
                np.testing.assert_array_equal(fns["other"][0](), ref)
            if not args.no_frameworks:
                for name, fn in torch_runners(case, x, w, wrt).items():
                    np.testing.assert_allclose(fn(), ref, rtol=1e-4, atol=1e-4, err_msg=name)
                    fns["torch " + name] = (fn, None)
                tf_fn, to_nchw = tf_runner(case, x, w, wrt)
                np.testing.assert_allclose(to_nchw(tf_fn()), ref, rtol=1e-4, atol=1e-4, err_msg="tf")
                fns["tf"] = (tf_fn, None)
            times = {k: [] for k in fns}
            for _ in range(rounds):
                for k, (fn, setup) in fns.items():
                    fn()
                    times[k].append(per_call(fn, setup=setup))
            med = {k: statistics.median(v) for k, v in times.items()}
            line = f"{case.label():<40s} {wrt:<6s} {med['cold'] * 1e3:9.3f} {med['warm'] * 1e3:9.3f}"
            if other is not None:
                line += f" {med['other'] * 1e3:10.3f}"
            if not args.no_frameworks:
                tnames = [k for k in med if k.startswith("torch ")]
                best_t = min(tnames, key=med.get)
                ref_t = min(med[best_t], med["tf"])
                ratio = ref_t / med["cold"]
                ratios.append(ratio)
                line += (f" {med[best_t] * 1e3:9.3f} {med['tf'] * 1e3:9.3f} {ratio:6.1f}x  {best_t[6:]}"
                         f"{'' if ratio >= 20 else '   < 20x'}")
            print(line, flush=True)
    if ratios:
        print(f"{sum(r >= 20 for r in ratios)}/{len(ratios)} cases >= 20x (min {min(ratios):.1f}x, "
              f"median {statistics.median(ratios):.1f}x)")


if __name__ == "__main__":
    main()
