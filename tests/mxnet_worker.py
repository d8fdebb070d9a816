"""Runs real MXNet for tests/test_mxnet.py, inside .venv-mxnet (MXNet 1.9.1 needs numpy<1.24).

Usage: .venv-mxnet/bin/python tests/mxnet_worker.py IN.npz OUT.npz

IN.npz holds ``jobs``, a JSON list of ``{"op": ..., "kwargs": {...}}``, and the input arrays
of job ``i`` as ``"<i>.<name>"``.  OUT.npz holds the result arrays the same way, ``errors``
(a JSON list: ``null``, or the ``Check failed`` line of the MXNet error the job raised) and
``versions``.  Lists in ``kwargs`` become the tuples MXNet expects.

Ops:
  deconvolution         mx.nd.Deconvolution(data=x, weight=w, **kwargs)                -> y
  convolution_backward  mx.nd.Convolution(data=x, weight=w, **kwargs) under mx.autograd,
                        y.backward(g)                                                  -> y, dx, dw
  executor_backward     mx.sym.Convolution(..., name="conv").simple_bind(data=x.shape), x and
                        the weight copied into arg_dict, executor.backward(g) with no forward call
                        (article 003's second snippet)                                 -> dx, dw
"""
from __future__ import annotations

import json
import sys

import mxnet as mx
import numpy as np


def _kwargs(kw):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}


def _error_line(exc):
    lines = [line.strip() for line in str(exc).splitlines() if "Check failed" in line]
    return lines[-1] if lines else f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1]}"


def run(job, a):
    kw = _kwargs(job.get("kwargs", {}))
    op = job["op"]
    if op == "deconvolution":
        y = mx.nd.Deconvolution(data=mx.nd.array(a["x"], dtype=a["x"].dtype),
                                weight=mx.nd.array(a["w"], dtype=a["w"].dtype), **kw)
        return {"y": y.asnumpy()}
    if op == "convolution_backward":
        x = mx.nd.array(a["x"], dtype=a["x"].dtype)
        w = mx.nd.array(a["w"], dtype=a["w"].dtype)
        x.attach_grad()
        w.attach_grad()
        with mx.autograd.record():
            y = mx.nd.Convolution(data=x, weight=w, **kw)
        y.backward(mx.nd.array(a["g"], dtype=a["g"].dtype))
        return {"y": y.asnumpy(), "dx": x.grad.asnumpy(), "dw": w.grad.asnumpy()}
    if op == "executor_backward":
        sym = mx.sym.Convolution(data=mx.sym.Variable("data"), name="conv", **kw)
        ex = sym.simple_bind(ctx=mx.cpu(), data=a["x"].shape, type_dict={"data": a["x"].dtype})
        mx.nd.array(a["x"], dtype=a["x"].dtype).copyto(ex.arg_dict["data"])
        mx.nd.array(a["w"], dtype=a["w"].dtype).copyto(ex.arg_dict["conv_weight"])
        ex.backward(mx.nd.array(a["g"], dtype=a["g"].dtype))
        return {"dx": ex.grad_dict["data"].asnumpy(), "dw": ex.grad_dict["conv_weight"].asnumpy()}
    raise ValueError(f"unknown op {op!r}")


def main(src, dst):
    with np.load(src) as f:
        jobs = json.loads(str(f["jobs"]))
        arrays = {k: f[k] for k in f.files if k != "jobs"}
    by_job = {}
    for key, v in arrays.items():
        i, name = key.split(".", 1)
        by_job.setdefault(int(i), {})[name] = v
    out, errors = {}, []
    for i, job in enumerate(jobs):
        a = by_job.get(i, {})
        try:
            res = run(job, a)
        except mx.base.MXNetError as exc:
            errors.append(_error_line(exc))
            continue
        errors.append(None)
        out.update({f"{i}.{k}": v for k, v in res.items()})
    versions = {"mxnet": mx.__version__, "numpy": np.__version__}
    np.savez(dst, errors=np.array(json.dumps(errors)), versions=np.array(json.dumps(versions)), **out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
