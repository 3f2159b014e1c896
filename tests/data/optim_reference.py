"""Reference trajectories and learning-rate sequences from PyTorch 1.13 (float64), embedded in
tests/test_optim_adaptive.cpp, tests/test_optim_sgd.cpp and tests/test_optim_schedule.cpp.

Run with Debian's python3-torch:  /usr/bin/python3 tests/data/optim_reference.py
It prints C++ initialisers; each block is pasted into the test named in its comment.

The problem (the same in the C++ tests): least squares with two parameter groups,
  X[i][j] = ((7 i + 3 j) % 11 - 5) / 4   (8 x 3),   Y[i][k] = ((5 i + 2 k) % 7 - 3) / 2   (8 x 2),
  W0 = [[0.1, -0.2], [0.3, 0.05], [-0.15, 0.25]],  b0 = [0.5, -0.5],
  loss = mean((X W + b - Y)^2)  (negated for the `maximize` configurations),
group 0 = [W], group 1 = [b], each with its own options; 20 steps, W and b recorded after
steps 1, 10 and 20 (W row-major, then b).
"""
import warnings

import torch

warnings.filterwarnings("ignore")
torch.set_default_dtype(torch.float64)

X = torch.tensor([[((7 * i + 3 * j) % 11 - 5) / 4 for j in range(3)] for i in range(8)])
Y = torch.tensor([[((5 * i + 2 * k) % 7 - 3) / 2 for k in range(2)] for i in range(8)])
W0 = torch.tensor([[0.1, -0.2], [0.3, 0.05], [-0.15, 0.25]])
B0 = torch.tensor([0.5, -0.5])

O = torch.optim
# name, optimizer class, group-0 options, group-1 options, maximize the negated loss
CONFIGS = [
    ("sgd_momentum_dampening_wd", O.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01), dict(lr=0.1), False),
    ("sgd_nesterov_wd", O.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), dict(lr=0.02, momentum=0.5), False),
    ("sgd_maximize", O.SGD, dict(lr=0.05, momentum=0.8, maximize=True), dict(lr=0.1, maximize=True), True),
    ("adam_wd_amsgrad", O.Adam, dict(lr=0.05, weight_decay=0.01), dict(lr=0.1, betas=(0.8, 0.99), amsgrad=True), False),
    ("adam_maximize_amsgrad", O.Adam, dict(lr=0.05, amsgrad=True, maximize=True), dict(lr=0.02, eps=1e-6, maximize=True), True),
    ("adamw", O.AdamW, dict(lr=0.05, weight_decay=0.1), dict(lr=0.02, amsgrad=True, weight_decay=0.0), False),
    ("rmsprop_momentum_centered", O.RMSprop, dict(lr=0.01), dict(lr=0.01, momentum=0.9, centered=True), False),
    ("rmsprop_centered_wd", O.RMSprop, dict(lr=0.01, centered=True, weight_decay=0.1, alpha=0.9), dict(lr=0.005, momentum=0.5), False),
    # PyTorch 1.13's Adagrad fills every group's accumulator with the constructor's
    # initial_accumulator_value (a group's own is ignored), so both groups use the same 0.1.
    ("adagrad", O.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.01), dict(lr=0.2, eps=1e-6), False),
]
CONSTRUCTOR_DEFAULTS = {"adagrad": dict(initial_accumulator_value=0.1)}


def fmt(v):
    return repr(float(v))


def trajectory(name, cls, opts0, opts1, negate):
    W = W0.clone().requires_grad_()
    b = B0.clone().requires_grad_()
    opt = cls([dict(params=[W], **opts0), dict(params=[b], **opts1)],
              **CONSTRUCTOR_DEFAULTS.get(name, {}))
    out = []
    for step in range(1, 21):
        opt.zero_grad()
        loss = ((X @ W + b - Y) ** 2).mean()
        (-loss if negate else loss).backward()
        opt.step()
        if step in (1, 10, 20):
            out.append([fmt(v) for v in list(W.detach().flatten()) + list(b.detach())])
    return out


print("// ---- tests/test_optim_sgd.cpp and tests/test_optim_adaptive.cpp: trajectories ----")
for name, cls, o0, o1, neg in CONFIGS:
    rows = trajectory(name, cls, o0, o1, neg)
    print('    {"%s",' % name)
    print("     {{" + "},\n      {".join(", ".join(r) for r in rows) + "}}},")


def dummy_optimizer(lrs):
    ps = [torch.zeros(1, requires_grad=True) for _ in lrs]
    return O.SGD([dict(params=[p], lr=lr) for p, lr in zip(ps, lrs)], lr=lrs[0])


def sequence(make, steps, lrs=(0.1, 0.02)):
    opt = dummy_optimizer(lrs)
    s = make(opt)
    seq = [s.get_last_lr()]
    for _ in range(steps):
        opt.step()
        s.step()
        seq.append(s.get_last_lr())
    return seq


S = O.lr_scheduler
SCHEDULES = [
    ("step_lr", lambda o: S.StepLR(o, step_size=3, gamma=0.5), 12),
    ("exponential_lr", lambda o: S.ExponentialLR(o, gamma=0.9), 10),
    ("cosine_lr", lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 25),
    ("linear_lr", lambda o: S.LinearLR(o), 8),
    ("linear_then_cosine",
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=3),
                                  S.CosineAnnealingLR(o, T_max=7)], milestones=[3]), 14),
    ("linear_then_exponential",
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.25, total_iters=4),
                                  S.ExponentialLR(o, gamma=0.8)], milestones=[4]), 10),
]

print("// ---- tests/test_optim_schedule.cpp: get_last_lr() after construction and each step ----")
for name, make, steps in SCHEDULES:
    seq = sequence(make, steps)
    print('    {"%s", {%s}},' % (name, ", ".join("{%s}" % ", ".join(fmt(v) for v in lrs) for lrs in seq)))

PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.92, 0.91, 0.9, 0.89995, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9,
                   0.91, 0.92, 0.93, 0.8, 0.81, 0.82, 0.83]
PLATEAUS = [
    ("plateau_min_rel", dict(mode="min", factor=0.5, patience=2, cooldown=1)),
    ("plateau_max_abs", dict(mode="max", factor=0.1, patience=1, threshold=0.05,
                             threshold_mode="abs", min_lr=0.005)),
]
print("// ---- tests/test_optim_schedule.cpp: ReduceLROnPlateau over PLATEAU_METRICS ----")
print("// metrics: {%s}" % ", ".join(fmt(m) for m in PLATEAU_METRICS))
for name, kw in PLATEAUS:
    opt = dummy_optimizer((0.1, 0.02))
    s = S.ReduceLROnPlateau(opt, **kw)
    seq = []
    for m in PLATEAU_METRICS:
        s.step(m)
        seq.append([g["lr"] for g in opt.param_groups] + [s.num_bad_epochs, s.cooldown_counter])
    print('    {"%s", {%s}},' % (name, ", ".join("{%s}" % ", ".join(fmt(v) for v in r) for r in seq)))
