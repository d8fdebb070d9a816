"""The conv ops of bench_core.py, each library timed in a process of its own (issue 11).

bench_core.py interleaves torch, convviz and numpy's GEMM in one process. At 2 threads that hides two
effects a user calling one library meets: OpenBLAS's worker threads spin after a GEMM and slow the
torch call that follows, and the other library's allocations keep glibc from trimming the heap, so
convviz's large temporaries are not faulted in again on every call. Here each (library, stride)
runs alone in a fresh interpreter: warm-up calls, then the median of 9 blocks of 20 calls (wall time).

A shared machine's speed drifts by tens of percent from one minute to the next, so one pair of processes
gives a ratio only to within that drift. The pairs are repeated for ``--rounds`` rounds (the libraries in
alternating order) and each round's ratio convviz / torch is computed from processes that ran back to
back; reported are the median of those ratios and their range over the rounds.

    .venv/bin/python benchmarks/bench_ops_alone.py [--threads 2] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

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
    for _ in range(9):
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
    ap.add_argument("--rounds", type=int, default=5, help="repetitions of each process trio (alternating order)")
    args = ap.parse_args()
    # glibc keeping freed memory (no trim, no per-allocation mmap): what convviz costs without page faults
    no_trim = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
    kinds = [("convviz", None), ("torch", None), ("kept", no_trim)]
    times = {(k, s): [] for k, _ in kinds for s in (1, 2)}  # per round: {op: seconds}
    for r in range(args.rounds):
        for s in (1, 2):
            for k, env in kinds[::-1] if r % 2 else kinds:  # a drift in speed weighs on each alike
                times[k, s].append(run("torch" if k == "torch" else "convviz", s, args.threads, env))
    print(f"conv ops, N=8, C=32, 32x32, K=64, k=3, padding 1, float32, {args.threads} threads; each library alone "
          f"in a fresh process (median of 9 blocks of 20 calls); {args.rounds} rounds of back-to-back processes")
    print("ratio = convviz / torch of one round; median over the rounds [min-max]; ms: medians over the rounds")
    print(f"{'op':<24s} {'s':>2s} {'convviz ms':>11s} {'torch ms':>9s} {'ratio':>19s}  "
          f"{'convviz, glibc keeps memory':>28s} {'ratio':>19s}")
    within = []
    med = lambda v: float(np.median(v))  # noqa: E731
    for s in (1, 2):
        for name in times["convviz", s][0]:
            ms = {k: [t[name] * 1e3 for t in times[k, s]] for k, _ in kinds}
            rat = {k: np.array(ms[k]) / np.array(ms["torch"]) for k in ("convviz", "kept")}
            cell = {k: f"{med(v):5.2f}x [{v.min():.2f}-{v.max():.2f}]" for k, v in rat.items()}
            within.append(med(rat["convviz"]) <= 1.5)
            print(f"{name:<24s} {s:>2d} {med(ms['convviz']):11.3f} {med(ms['torch']):9.3f} {cell['convviz']:>19s}  "
                  f"{med(ms['kept']):28.3f} {cell['kept']:>19s}", flush=True)
    print(f"{sum(within)}/{len(within)} ops within 1.5x of torch (median ratio over the rounds)")


if __name__ == "__main__":
    main()
