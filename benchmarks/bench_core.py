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
import conv_cases as cc  # noqa: E402  (benchmarks/, beside this file)


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
    """The 8 conv-op configurations (benchmarks/conv_cases.py); returns [ok] per row."""
    print(f"conv ops: N={cc.N}, C={cc.C}, {cc.H}x{cc.H}, K={cc.K}, k={cc.k}, padding 1, float32; median of {rounds} "
          f"interleaved rounds, {'thread CPU time' if clock is time.thread_time else 'wall time'}")
    print(f"{'op':<24s} {'s':>2s} {'convviz ms':>11s} {'torch ms':>9s} {'GEMM ms':>8s} {'convviz/torch':>14s} {'GEMM/torch':>11s}  target <= 1.5")
    results = []
    for s in (1, 2):
        x, w, g = cc.arrays(s, rng)
        ours, ref, gemm = cc.calls("convviz", s, x, w, g), cc.calls("torch", s, x, w, g), cc.gemms(s, x, w, g, rng)
        with torch.no_grad():
            for name in cc.OPS:
                (t_ref, t_ours, t_gemm), (_, r_ours, r_gemm) = interleaved([ref[name], ours[name], gemm[name]], rounds, clock)
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
