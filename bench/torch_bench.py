#!/usr/bin/python3
"""PyTorch's side of `tapegrad bench`: the same workloads on the same data with the same sizes
and hyper-parameters, printing one JSON line per run with the same keys.

usage: torch_bench.py WORKLOAD [--threads N] [--dtype f32|f64]
  WORKLOAD: tiny | fmnist | logreg | matmul | overhead | all

--threads sets both PyTorch's intra-op (OpenMP) threads and OpenBLAS's own pool, which
torch.set_num_threads does not reach. bench/compare runs this beside `tapegrad bench`.
"""
import argparse
import ctypes
import ctypes.util
import gzip
import json
import math
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_CSV = os.path.join(ROOT, "examples", "data", "make_classification_400.csv")
FMNIST_DIR = "/usr/share/datasets/fashion-mnist"


# ---- OpenBLAS: the library torch loaded (libblas.so.3 is OpenBLAS on this machine) ----------

def openblas():
    for name in ("libblas.so.3", "libopenblas.so.0"):
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_num_threads  # raises AttributeError when it is not OpenBLAS
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib
        except (OSError, AttributeError):
            continue
    return None


BLAS = openblas()


def set_threads(n):
    torch.set_num_threads(n)
    if BLAS is not None:
        BLAS.openblas_set_num_threads(n)


def context(dtype):
    """Keys every line carries, so that compare can check like is compared with like."""
    return {
        "threads": torch.get_num_threads(),
        "blas_threads": BLAS.openblas_get_num_threads() if BLAS is not None else -1,
        "blas_core": BLAS.openblas_get_corename().decode() if BLAS is not None else "unknown",
        "dtype": "f64" if dtype == torch.float64 else "f32",
    }


def emit(bench, dtype, **values):
    line = {"bench": bench, **values, **context(dtype)}
    print(json.dumps(line), flush=True)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


class Stopwatch:
    """Wall-clock time, and the CPU time of the whole process (all threads) beside it: on a
    machine shared with other jobs the CPU time still says what the work cost."""

    def __init__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def wall(self):
        return time.perf_counter() - self.wall0

    def cpu(self):
        return time.process_time() - self.cpu0


def median_seconds(reps, f):
    """(median wall seconds, median CPU seconds) of reps calls of f."""
    wall, cpu = [], []
    for _ in range(reps):
        sw = Stopwatch()
        f()
        wall.append(sw.wall())
        cpu.append(sw.cpu())
    return statistics.median(wall), statistics.median(cpu)


# ---- the logreg data: a counter-based splitmix64 stream, the same numbers as tapegrad's ----

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(seed, first, count):
    """Draws first .. first+count-1 of the stream mix(seed + (k + 1)·golden), k = 0, 1, ..."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + (np.arange(first, first + count, dtype=np.uint64) + np.uint64(1)) * GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def open_uniform(z):
    """(0, 1), never 0 or 1: ((z >> 11) + 0.5) / 2^53."""
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0 ** -53


def normals(seed, first_pair, pairs):
    """Box–Muller on draws (2p, 2p+1): sqrt(-2 ln u1)·cos(2π u2), then ·sin(2π u2)."""
    z = splitmix64(seed, 2 * first_pair, 2 * pairs)
    u1, u2 = open_uniform(z[0::2]), open_uniform(z[1::2])
    r = np.sqrt(-2.0 * np.log(u1))
    out = np.empty(2 * pairs)
    out[0::2] = r * np.cos(2.0 * math.pi * u2)
    out[1::2] = r * np.sin(2.0 * math.pi * u2)
    return out


LOGREG_ROWS, LOGREG_FEATURES = 2_000_000, 20


def logreg_data(rows=LOGREG_ROWS, features=LOGREG_FEATURES, chunk=200_000):
    """x: standard normals from stream 1, row-major. The rule w·x + b: 21 normals of stream 2.
    y = [z + log(u/(1-u)) > 0] with u from stream 3 (logistic noise), z summed in float64 in
    column order, as tapegrad does."""
    rule = normals(2, 0, (features + 2) // 2)
    w, b = rule[:features], rule[features]
    x = np.empty((rows, features), dtype=np.float32)
    y = np.empty((rows, 1), dtype=np.float32)
    for r0 in range(0, rows, chunk):
        r1 = min(rows, r0 + chunk)
        v = normals(1, r0 * features // 2, (r1 - r0) * features // 2).reshape(r1 - r0, features)
        x[r0:r1] = v
        z = np.full(r1 - r0, b)
        for j in range(features):
            z = z + w[j] * v[:, j]
        u = open_uniform(splitmix64(3, r0, r1 - r0))
        y[r0:r1, 0] = (z + np.log(u / (1.0 - u)) > 0).astype(np.float32)
    return x, y


# ---- workloads ------------------------------------------------------------------------------

def tiny(dtype):
    data = np.loadtxt(TINY_CSV, delimiter=",", skiprows=1)
    x = data[:, :2]
    x = (x - x.mean(axis=0)) / x.std(axis=0)  # population std, as StandardScaler
    x = torch.tensor(x, dtype=dtype)
    y = torch.tensor(data[:, 2:3], dtype=dtype)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                                torch.nn.Tanh(), torch.nn.Linear(16, 1)).to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    steps = 2000
    sw = Stopwatch()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    wall, cpu = sw.wall(), sw.cpu()
    with torch.no_grad():
        final = loss_fn(model(x), y).item()
    emit("tiny", dtype, us_per_step=round(wall / steps * 1e6, 2),
         us_per_step_cpu=round(cpu / steps * 1e6, 2), final_loss=final)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def train_epoch(model, opt, loss_fn, x, y, batch):
    """One epoch of mini-batches in a fresh random order (torch's global generator)."""
    n = len(x)
    perm = torch.randperm(n)
    for i in range(0, n, batch):
        idx = perm[i:i + batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


def fmnist(dtype, epochs=3, batch=128):
    def load(prefix):
        x = read_idx(os.path.join(FMNIST_DIR, f"{prefix}-images-idx3-ubyte.gz"))
        y = read_idx(os.path.join(FMNIST_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
        x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0).to(dtype)
        return x, torch.from_numpy(y.astype(np.int64))

    x_train, y_train = load("train")
    x_test, y_test = load("t10k")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    times, cpu_times = [], []
    for _ in range(epochs):
        sw = Stopwatch()
        train_epoch(model, opt, loss_fn, x_train, y_train, batch)
        times.append(sw.wall())
        cpu_times.append(sw.cpu())
    with torch.no_grad():
        acc = (model(x_test).argmax(dim=1) == y_test).double().mean().item()
    emit("fmnist", dtype, s_per_epoch_median=round(statistics.median(times), 4),
         s_per_epoch_median_cpu=round(statistics.median(cpu_times), 4),
         s_per_epoch=[round(t, 4) for t in times], test_acc=round(acc, 4),
         peak_rss_mb=round(peak_rss_mb(), 1))


def logreg(dtype, batch=256):
    xn, yn = logreg_data()
    x, y = torch.from_numpy(xn).to(dtype), torch.from_numpy(yn).to(dtype)
    torch.manual_seed(0)
    model = torch.nn.Linear(LOGREG_FEATURES, 1).to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    sw = Stopwatch()
    train_epoch(model, opt, loss_fn, x, y, batch)
    epoch, epoch_cpu = sw.wall(), sw.cpu()
    with torch.no_grad():
        out = model(x)
        full_loss = loss_fn(out, y).item()
        acc = ((out > 0).to(dtype) == y).double().mean().item()

    def full_grad():
        model.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()

    full_grad()
    t_grad, t_grad_cpu = median_seconds(5, full_grad)
    emit("logreg", dtype, s_per_epoch=round(epoch, 4), s_per_epoch_cpu=round(epoch_cpu, 4),
         full_loss=full_loss, acc=round(acc, 5), s_full_batch_grad=round(t_grad, 5),
         s_full_batch_grad_cpu=round(t_grad_cpu, 5), data_mean_x=float(xn.mean(dtype=np.float64)),
         data_pos_frac=float(yn.mean(dtype=np.float64)))


def overhead(dtype):
    a = torch.tensor(1.0, dtype=dtype, requires_grad=True)
    b = torch.tensor(2.0, dtype=dtype)
    ops = 1000

    def fwd():
        for _ in range(ops):
            a + b

    def chain():
        y = a
        for _ in range(100):
            y = y + b
        y.backward()

    t_fwd, c_fwd = median_seconds(31, fwd)
    t_chain, c_chain = median_seconds(301, chain)
    emit("overhead", dtype, ns_add_fwd=round(t_fwd / ops * 1e9, 1),
         ns_add_fwd_cpu=round(c_fwd / ops * 1e9, 1),
         ns_per_op_fwd_plus_bwd=round(t_chain / 100 * 1e9, 1),
         ns_per_op_fwd_plus_bwd_cpu=round(c_chain / 100 * 1e9, 1))


def matmul(dtype, n=1024):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g, dtype=dtype, requires_grad=True)
    b = torch.randn(n, n, generator=g, dtype=dtype, requires_grad=True)
    seed = torch.ones(n, n, dtype=dtype)

    def step():
        c = a @ b
        c.backward(seed)
        a.grad = None
        b.grad = None

    # The three products of the step without autograd: forward, dA = dC·Bᵀ, dB = Aᵀ·dC.
    ad, bd = a.detach(), b.detach()

    def direct():
        torch.mm(ad, bd)
        torch.mm(seed, bd.t())
        torch.mm(ad.t(), seed)

    step()
    direct()
    # Alternate the two so that a noisy neighbour hits both alike.
    tape, bare = [], []
    for _ in range(9):
        tape.append(median_seconds(1, step))
        bare.append(median_seconds(1, direct))
    gflop = 6.0 * n ** 3 * 1e-9

    def rate(times, k):
        return round(gflop / statistics.median(t[k] for t in times), 2)

    emit("matmul", dtype, n=n, gflops=rate(tape, 0), gflops_cpu=rate(tape, 1),
         direct_gflops=rate(bare, 0), direct_gflops_cpu=rate(bare, 1),
         vs_direct=round(rate(tape, 0) / rate(bare, 0), 3))


WORKLOADS = {"tiny": tiny, "fmnist": fmnist, "logreg": logreg, "matmul": matmul, "overhead": overhead}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=[*WORKLOADS, "all"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", choices=["f32", "f64"], default="f32")
    args = ap.parse_args()
    set_threads(args.threads)
    dtype = torch.float64 if args.dtype == "f64" else torch.float32
    for name, fn in WORKLOADS.items():
        if args.workload in (name, "all"):
            fn(dtype)


if __name__ == "__main__":
    sys.exit(main())
