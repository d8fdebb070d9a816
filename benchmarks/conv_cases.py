"""The conv-op configurations of issue 11, shared by bench_core.py (libraries interleaved in one process)
and bench_ops_alone.py (each library alone in a fresh process): one list of shapes and calls, so that both
benchmarks time the same thing.

N=8, C=32, 32x32, K=64 filters, k=3, padding 1, float32, stride 1 and 2; transposed convolutions map
y-shaped arrays (K channels) back to x-shaped ones with the same (K, C, k, k) weights and, at stride 2,
output_padding 1 so that they give 32x32 again.
"""
from __future__ import annotations

import numpy as np

N, C, H, K, k = 8, 32, 32, 64, 3
OPS = ("conv2d", "conv_transpose2d", "conv2d_backprop_input", "conv2d_backprop_filter")


def arrays(s: int, rng=None):
    """x (N, C, H, H), w (K, C, k, k) and an upstream gradient g shaped like conv2d(x, w) at stride s."""
    rng = np.random.default_rng(0) if rng is None else rng
    x = rng.standard_normal((N, C, H, H)).astype(np.float32)
    w = rng.standard_normal((K, C, k, k)).astype(np.float32)
    g = rng.standard_normal((N, K, -(-H // s), -(-H // s))).astype(np.float32)
    return x, w, g


def calls(lib: str, s: int, x, w, g) -> dict:
    """{op name: zero-argument call} of ``lib`` ("convviz" or "torch") on these arrays, in OPS order."""
    op = 1 if s == 2 else 0
    if lib == "torch":
        import torch

        F = torch.nn.functional
        xt, wt, gt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(g)
        return {"conv2d": lambda: F.conv2d(xt, wt, stride=s, padding=1),
                "conv_transpose2d": lambda: F.conv_transpose2d(gt, wt, stride=s, padding=1, output_padding=op),
                "conv2d_backprop_input": lambda: torch.nn.grad.conv2d_input(x.shape, wt, gt, stride=s, padding=1),
                "conv2d_backprop_filter": lambda: torch.nn.grad.conv2d_weight(xt, w.shape, gt, stride=s, padding=1)}
    if lib == "convviz":
        import convviz as cv

        return {"conv2d": lambda: cv.conv2d(x, w, stride=s, padding=1),
                "conv_transpose2d": lambda: cv.conv_transpose2d(g, w, stride=s, padding=1, output_padding=op),
                "conv2d_backprop_input": lambda: cv.conv2d_backprop_input(x.shape, w, g, stride=s, padding=1),
                "conv2d_backprop_filter": lambda: cv.conv2d_backprop_filter(x, w.shape, g, stride=s, padding=1)}
    raise ValueError(f"lib must be 'convviz' or 'torch', got {lib!r}")


def gemms(s: int, x, w, g, rng=None) -> dict:
    """{op name: numpy's GEMM alone on that op's im2col shapes} (the same FLOPs: the floor of a GEMM design)."""
    rng = np.random.default_rng(1) if rng is None else rng
    L = g[:, 0].size  # output positions N*Ho*Wo
    wk = w.reshape(K, -1)
    cols = rng.standard_normal((C * k * k, L)).astype(np.float32)
    gk = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(K, L)
    return {"conv2d": lambda: wk @ cols, "conv_transpose2d": lambda: wk.T @ gk,
            "conv2d_backprop_input": lambda: wk.T @ gk, "conv2d_backprop_filter": lambda: cols @ gk.T}
