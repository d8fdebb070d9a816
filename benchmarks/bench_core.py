"""Benchmark the numpy core against PyTorch (CPU) and TensorFlow, measured in one run.

Prints ratios, not absolute pass/fail: targets (issue 1/4) are convviz <= 1.5x torch
for the forward/backward ops, and the analytic Jacobian >= 20x faster than the
faster of torch.autograd.functional.jacobian(vectorize=True) and TF tape.jacobian
inside tf.function.

    make bench            # or: .venv/bin/python benchmarks/bench_core.py
"""
from __future__ import annotations

import os
import statistics
import time

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


def pair_times(ours_fn, ref_fn, rounds=3):
    """Alternate the two measurements so both see the same machine state; keep the best round."""
    a, b = [], []
    for _ in range(rounds):
        a.append(best_of(ours_fn))
        b.append(best_of(ref_fn))
    return min(a), min(b)


def row(name, ours, ref, target, kind="<="):
    ratio = ours / ref
    ok = ratio <= target if kind == "<=" else (ref / ours) >= target
    shown = f"{ratio:6.2f}x torch" if kind == "<=" else f"{ref / ours:7.1f}x faster"
    print(f"{name:<44s} convviz {ours * 1e3:8.3f} ms   ref {ref * 1e3:8.3f} ms   {shown}   target {kind} {target}  {'OK' if ok else 'MISSED'}")
    return ok


def main():
    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), tf {tf.__version__}, cores {os.cpu_count()}")
    results = []
    N, C, H, K, k = 8, 32, 32, 64, 3
    for s in (1, 2):
        x = rng.standard_normal((N, C, H, H)).astype(np.float32)
        w = rng.standard_normal((K, C, k, k)).astype(np.float32)
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        y = cv.conv2d(x, w, stride=s, padding=1)
        g = rng.standard_normal(y.shape).astype(np.float32)
        gt = torch.from_numpy(g)
        with torch.no_grad():
            results.append(row(f"conv2d  stride {s}", *pair_times(lambda: cv.conv2d(x, w, stride=s, padding=1),
                               lambda: torch.nn.functional.conv2d(xt, wt, stride=s, padding=1)), 1.5))
            # transposed conv maps y-shaped (K channels) back to x-shaped: weights (K, C, k, k)
            op = 1 if s == 2 else 0
            results.append(row(f"conv_transpose2d  stride {s}", *pair_times(
                               lambda: cv.conv_transpose2d(g, w, stride=s, padding=1, output_padding=op),
                               lambda: torch.nn.functional.conv_transpose2d(gt, wt, stride=s, padding=1, output_padding=op)), 1.5))
            results.append(row(f"conv2d_backprop_input  stride {s}", *pair_times(
                               lambda: cv.conv2d_backprop_input(x.shape, w, g, stride=s, padding=1),
                               lambda: torch.nn.grad.conv2d_input(x.shape, wt, gt, stride=s, padding=1)), 1.5))
            results.append(row(f"conv2d_backprop_filter  stride {s}", *pair_times(
                               lambda: cv.conv2d_backprop_filter(x, w.shape, g, stride=s, padding=1),
                               lambda: torch.nn.grad.conv2d_weight(xt, w.shape, gt, stride=s, padding=1)), 1.5))
        if s == 1:
            # the floor for any im2col design: numpy's BLAS GEMM alone, same FLOPs as the convolution
            cols = np.ascontiguousarray(rng.standard_normal((C * k * k, N * H * H)).astype(np.float32))
            w2 = w.reshape(K, -1)
            ours_gemm, ref = pair_times(lambda: w2 @ cols, lambda: torch.nn.functional.conv2d(xt, wt, stride=1, padding=1))
            print(f"   (floor) numpy GEMM alone {ours_gemm * 1e3:.3f} ms = {ours_gemm / ref:.2f}x torch conv2d")

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
