"""The conv ops of bench_core.py, each library timed in a process of its own (issue 11).

bench_core.py interleaves torch, convviz and numpy's GEMM in one process. At 2 threads that hides two
effects a user calling one library meets: OpenBLAS's worker threads spin after a GEMM and slow the
torch call that follows, and the other library's allocations keep glibc from trimming the heap, so
convviz's large temporaries are not faulted in again on every call. Here each (library, stride)
runs alone in a fresh interpreter: warm-up calls, then the median of 15 blocks of 20 calls (wall time).

    .venv/bin/python benchmarks/bench_ops_alone.py [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, os, statistics, sys, time
sys.path.insert(0, sys.argv[3])  # benchmarks/: conv_cases, the op table bench_core.py times too
import conv_cases as cc
lib, s = sys.argv[1], int(sys.argv[2])
if lib == "torch":
    import torch
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    torch.set_grad_enabled(False)
fns = cc.calls(lib, s, *cc.arrays(s))
out = {}
for name, fn in fns.items():
    for _ in range(20):
        fn()
    blocks = []
    for _ in range(15):
        t0 = time.perf_counter()
        for _ in range(20):
            fn()
        blocks.append((time.perf_counter() - t0) / 20)
    out[name] = statistics.median(blocks)
print(json.dumps(out))
"""


def run(lib: str, stride: int, threads: int, extra_env=None) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), **(extra_env or {}))
    here = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run([sys.executable, "-c", CHILD, lib, str(stride), here], env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    # glibc keeping freed memory (no trim, no per-allocation mmap): what convviz costs without page faults
    no_trim = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
    print(f"conv ops, N=8, C=32, 32x32, K=64, k=3, padding 1, float32, {args.threads} threads; "
          "each library alone in a fresh process; median of 15 blocks of 20 calls")
    print(f"{'op':<24s} {'s':>2s} {'convviz ms':>11s} {'torch ms':>9s} {'ratio':>7s}  "
          f"{'convviz, glibc keeps memory':>28s} {'ratio':>7s}")
    for s in (1, 2):
        ours, ref, kept = run("convviz", s, args.threads), run("torch", s, args.threads), run("convviz", s, args.threads, no_trim)
        for name in ours:
            print(f"{name:<24s} {s:>2d} {ours[name] * 1e3:11.3f} {ref[name] * 1e3:9.3f} {ours[name] / ref[name]:6.2f}x  "
                  f"{kept[name] * 1e3:28.3f} {kept[name] / ref[name]:6.2f}x", flush=True)


if __name__ == "__main__":
    main()
