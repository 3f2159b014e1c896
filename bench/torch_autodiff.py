#!/usr/bin/python3
"""PyTorch's side of bench_autodiff: the same measurements, the same JSON keys.

Run by bench/compare; by hand: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_autodiff.py
"""
import json
import statistics
import sys
import time

import torch


def median_seconds(reps, f):
    t = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        t.append(time.perf_counter() - start)
    return statistics.median(t)


def overhead():
    a = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(2.0)
    ops = 1000

    def fwd():
        for _ in range(ops):
            a + b

    def chain():
        y = a
        for _ in range(100):
            y = y + b
        y.backward()

    t_fwd = median_seconds(31, fwd)
    t_chain = median_seconds(301, chain)
    print(json.dumps({"bench": "overhead", "ns_add_fwd": round(t_fwd / ops * 1e9, 1),
                      "ns_per_op_fwd_plus_bwd": round(t_chain / 100 * 1e9, 1)}))


def matmul(n, dtype):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g, dtype=dtype, requires_grad=True)
    b = torch.randn(n, n, generator=g, dtype=dtype, requires_grad=True)
    seed = torch.ones(n, n, dtype=dtype)

    def step():
        c = a @ b
        c.backward(seed)
        a.grad = None
        b.grad = None

    step()
    t = median_seconds(9, step)
    print(json.dumps({"bench": "matmul", "n": n, "dtype": "f32" if dtype == torch.float32 else "f64",
                      "threads": torch.get_num_threads(), "gflops": round(6.0 * n ** 3 / t * 1e-9, 1)}))


def main():
    which, threads, dtype = "all", 1, torch.float32
    args = sys.argv[1:]
    while args:
        arg = args.pop(0)
        if arg == "--threads":
            threads = int(args.pop(0))
        elif arg == "--dtype":
            dtype = torch.float64 if args.pop(0) == "f64" else torch.float32
        else:
            which = arg
    torch.set_num_threads(threads)
    if which in ("overhead", "all"):
        overhead()
    if which in ("matmul", "all"):
        matmul(1024, dtype)


if __name__ == "__main__":
    main()
