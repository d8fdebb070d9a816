"""Benchmark the numpy core against PyTorch (CPU) and TensorFlow, measured in one run.

Prints ratios, not absolute pass/fail: targets (issues 1/4/11) are convviz <= 1.5x torch
for the forward/backward ops, and the analytic Jacobian >= 20x faster than the
faster of torch.autograd.functional.jacobian(vectorize=True) and TF tape.jacobian
inside tf.function.

The conv ops (N=8, C=32, 32x32, K=64 filters, k=3, padding 1, stride 1 and 2, float32)
run with ``--threads`` threads on both sides (default 2: ``torch.set_num_threads`` and
numpy's BLAS through OPENBLAS/OMP/MKL_NUM_THREADS, set before numpy is imported).
convviz, torch and the bare numpy GEMM of the same im2col shapes (the floor of any
GEMM design) are timed in turns, ``--rounds`` rounds; each time is the median over
rounds and the ratio the median of the per-round ratios.  With ``--threads 1`` the
clock is the thread's CPU time (robust on a busy machine), else wall time.

    make bench            # or: .venv/bin/python benchmarks/bench_core.py [--threads 2] [--rounds 15] [--ops-only]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

ARGS = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ARGS.add_argument("--threads", type=int, default=2, help="threads for torch and numpy's BLAS (default 2)")
ARGS.add_argument("--rounds", type=int, default=15, help="interleaved rounds per configuration (default 15)")
ARGS.add_argument("--ops-only", action="store_true", help="skip the Jacobian benchmark")
OPTS = ARGS.parse_args()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(OPTS.threads)  # before numpy is imported
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import torch

import convviz as cv


def best_of(fn, repeat=7, number=None):
    """Median of per-call times (seconds); ``number`` calls per sample, auto-sized to ~50 ms."""
    fn()  # warm up (allocations, tracing)
    if number is None:
        t0 = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t0, 1e-6)
        number = max(1, int(0.05 / one))
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)


def interleaved(fns, rounds, clock, sample=0.03):
    """Time ``fns`` in turns (a, b, c, a, b, c, ...): median per-call times and, for every fn,
    the median over rounds of its time divided by the first fn's."""
    numbers = []
    for fn in fns:
        fn(), fn()  # warm up
        t0 = clock()
        fn()
        numbers.append(max(1, int(sample / max(clock() - t0, 1e-6))))
    samples = [[] for _ in fns]
    for _ in range(rounds):
        for fn, number, out in zip(fns, numbers, samples):
            t0 = clock()
            for _ in range(number):
                fn()
            out.append((clock() - t0) / number)
    ratios = [statistics.median(a / b for a, b in zip(s, samples[0])) for s in samples]
    return [statistics.median(s) for s in samples], ratios


def row(name, ours, ref, target, kind="<="):
    ratio = ours / ref
    ok = ratio <= target if kind == "<=" else (ref / ours) >= target
    shown = f"{ratio:6.2f}x torch" if kind == "<=" else f"{ref / ours:7.1f}x faster"
    print(f"{name:<44s} convviz {ours * 1e3:8.3f} ms   ref {ref * 1e3:8.3f} ms   {shown}   target {kind} {target}  {'OK' if ok else 'MISSED'}")
    return ok


def conv_ops(rng, rounds, clock):
    """The 8 conv-op configurations; returns [ok] per row."""
    F = torch.nn.functional
    N, C, H, K, k = 8, 32, 32, 64, 3
    print(f"conv ops: N={N}, C={C}, {H}x{H}, K={K}, k={k}, padding 1, float32; median of {rounds} interleaved rounds, "
          f"{'thread CPU time' if clock is time.thread_time else 'wall time'}")
    print(f"{'op':<24s} {'s':>2s} {'convviz ms':>11s} {'torch ms':>9s} {'GEMM ms':>8s} {'convviz/torch':>14s} {'GEMM/torch':>11s}  target <= 1.5")
    results = []
    for s in (1, 2):
        x = rng.standard_normal((N, C, H, H)).astype(np.float32)
        w = rng.standard_normal((K, C, k, k)).astype(np.float32)
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        y = cv.conv2d(x, w, stride=s, padding=1)
        g = rng.standard_normal(y.shape).astype(np.float32)
        gt = torch.from_numpy(g)
        L = g[:, 0].size  # output positions N*Ho*Wo
        # the floor: numpy's GEMM alone on the im2col shapes of each op (same FLOPs)
        wk = w.reshape(K, -1)
        cols = rng.standard_normal((C * k * k, L)).astype(np.float32)
        gk = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(K, L)
        # transposed conv maps y-shaped (K channels) back to x-shaped: weights (K, C, k, k)
        op = 1 if s == 2 else 0
        cases = [
            ("conv2d", lambda: cv.conv2d(x, w, stride=s, padding=1),
             lambda: F.conv2d(xt, wt, stride=s, padding=1), lambda: wk @ cols),
            ("conv_transpose2d", lambda: cv.conv_transpose2d(g, w, stride=s, padding=1, output_padding=op),
             lambda: F.conv_transpose2d(gt, wt, stride=s, padding=1, output_padding=op), lambda: wk.T @ gk),
            ("conv2d_backprop_input", lambda: cv.conv2d_backprop_input(x.shape, w, g, stride=s, padding=1),
             lambda: torch.nn.grad.conv2d_input(x.shape, wt, gt, stride=s, padding=1), lambda: wk.T @ gk),
            ("conv2d_backprop_filter", lambda: cv.conv2d_backprop_filter(x, w.shape, g, stride=s, padding=1),
             lambda: torch.nn.grad.conv2d_weight(xt, w.shape, gt, stride=s, padding=1), lambda: cols @ gk.T),
        ]
        with torch.no_grad():
            for name, ours, ref, gemm in cases:
                (t_ref, t_ours, t_gemm), (_, r_ours, r_gemm) = interleaved([ref, ours, gemm], rounds, clock)
                ok = r_ours <= 1.5
                print(f"{name:<24s} {s:>2d} {t_ours * 1e3:11.3f} {t_ref * 1e3:9.3f} {t_gemm * 1e3:8.3f} "
                      f"{r_ours:13.2f}x {r_gemm:10.2f}x  {'OK' if ok else 'MISSED'}", flush=True)
                results.append(ok)
    return results


def main():
    torch.set_num_threads(OPTS.threads)
    rng = np.random.default_rng(0)
    clock = time.thread_time if OPTS.threads == 1 else time.perf_counter
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), tf {tf.__version__}, "
          f"cores {os.cpu_count()}, numpy BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}, load {os.getloadavg()[0]:.2f}")
    results = conv_ops(rng, OPTS.rounds, clock)
    if OPTS.ops_only:
        print(f"{sum(results)}/{len(results)} targets met")
        return

    # Jacobians at 28x28, k=3, single channel
    x = rng.standard_normal((1, 1, 28, 28)).astype(np.float32)
    w = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    xf, wf = tf.constant(x.transpose(0, 2, 3, 1)), tf.constant(w.transpose(2, 3, 1, 0))

    @tf.function
    def tf_jac_input(a, k):
        with tf.GradientTape() as tape:
            tape.watch(a)
            y = tf.nn.conv2d(a, k, 1, "VALID")
        return tape.jacobian(y, a)

    @tf.function
    def tf_jac_kernel(a, k):
        with tf.GradientTape() as tape:
            tape.watch(k)
            y = tf.nn.conv2d(a, k, 1, "VALID")
        return tape.jacobian(y, k)

    for wrt, tf_fn in (("input", tf_jac_input), ("kernel", tf_jac_kernel)):
        ours = best_of(lambda: cv.jacobian(cv.conv2d, x, w, wrt=wrt))
        if wrt == "input":
            t_torch = best_of(lambda: torch.autograd.functional.jacobian(lambda a: torch.nn.functional.conv2d(a, wt), xt, vectorize=True))
        else:
            t_torch = best_of(lambda: torch.autograd.functional.jacobian(lambda k_: torch.nn.functional.conv2d(xt, k_), wt, vectorize=True))
        t_tf = best_of(lambda: tf_fn(xf, wf).numpy())
        print(f"   jacobian wrt {wrt}: torch {t_torch * 1e3:.3f} ms, tf.function {t_tf * 1e3:.3f} ms")
        results.append(row(f"jacobian conv2d wrt {wrt} 28x28 k=3", ours, min(t_torch, t_tf), 20, kind=">="))
    print(f"{sum(results)}/{len(results)} targets met")


if __name__ == "__main__":
    main()
