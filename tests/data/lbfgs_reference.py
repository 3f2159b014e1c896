#!/usr/bin/env python3
"""Reference trajectories of torch.optim.LBFGS for tests/test_optim_lbfgs.cpp.

Run with Debian's PyTorch 1.13 (apt-get install python3-torch):
    /usr/bin/python3 tests/data/lbfgs_reference.py
It prints, for each problem and line-search setting, one row per step() call:
    {loss returned by step, func_evals after the step, parameters after the step...}
in float64, ready to paste into the test.

Problems (both defined identically in the C++ test):
  rosenbrock:    f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.5, 2), parameters x and y
                 (two scalars), max_iter=4, history_size=3.
  least_squares: mean((A w + c - b)^2) with A[i][j] = ((7i + 3j) % 11 - 5) / 4 (8x3),
                 b[i] = ((5i) % 7 - 3) / 2 (8x1), w (3x1) from 0.5, c (1) from 0,
                 max_iter=2, history_size=2.
"""
import torch

torch.set_default_dtype(torch.float64)
STEPS = 5


def rosenbrock():
    x = torch.tensor(-1.5, requires_grad=True)
    y = torch.tensor(2.0, requires_grad=True)
    return [x, y], lambda: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def least_squares():
    A = torch.tensor([[((7 * i + 3 * j) % 11 - 5) / 4 for j in range(3)] for i in range(8)])
    b = torch.tensor([[((5 * i) % 7 - 3) / 2] for i in range(8)])
    w = torch.full((3, 1), 0.5, requires_grad=True)
    c = torch.zeros(1, requires_grad=True)
    return [w, c], lambda: torch.mean((A @ w + c - b) ** 2)


def trajectory(problem, line_search, **options):
    params, loss_fn = problem()
    opt = torch.optim.LBFGS(params, line_search_fn=line_search, **options)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    rows = []
    for _ in range(STEPS):
        loss = float(opt.step(closure))
        flat = torch.cat([p.detach().reshape(-1) for p in params]).tolist()
        rows.append([loss, float(opt.state[params[0]]["func_evals"])] + flat)
    return rows


def show(name, rows):
    print(f"// {name}")
    print("{")
    for r in rows:
        print("    {" + ", ".join(f"{v:.17g}" for v in r) + "},")
    print("}")


for ls in (None, "strong_wolfe"):
    show(f"rosenbrock, line_search={ls}",
         trajectory(rosenbrock, ls, max_iter=4, history_size=3))
for ls in (None, "strong_wolfe"):
    show(f"least_squares, line_search={ls}",
         trajectory(least_squares, ls, max_iter=2, history_size=2))
