#!/usr/bin/python3
"""Reference values for tests/test_nn_loss.cpp, computed by PyTorch 1.13 in float64.

Run with Debian's python3-torch:  /usr/bin/python3 tests/data/loss_reference.py
It prints a C++ block (inputs, then one entry per loss and reduction) that is pasted between
the "BEGIN/END loss_reference.py" markers of tests/test_nn_loss.cpp.

Each entry holds the loss value (flattened; one number for mean and sum), and the gradients
of sum(loss) with respect to the input and, where PyTorch differentiates it, the target
(flattened, row-major). For reduction "none", sum(loss) means the gradient of the summed
per-element losses, i.e. backward from a seed of ones.
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def t(rows):
    return torch.tensor(rows, dtype=torch.float64)


# Inputs. Differences x - y avoid 0 and +-delta (the kinks of l1 and huber).
X = t([[0.3, -1.2, 2.5], [0.05, 0.7, -0.4]])
Y = t([[0.1, 0.8, 0.5], [-0.6, 1.6, 1.1]])
P = t([[0.1, 0.5, 0.9], [0.3, 0.99, 0.02]])    # probabilities for binary_cross_entropy
PY = t([[0.0, 1.0, 1.0], [0.2, 0.0, 0.7]])     # soft and hard binary targets
Z = t([[-2.0, 0.0, 3.5], [1000.0, -1000.0, 0.7]])  # logits, two of them extreme
ZY = t([[0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
L = t([[1.0, 2.0, 0.5, -1.0], [0.0, 0.0, 0.0, 0.0], [3.0, -2.0, 1.5, 0.2]])  # [N=3, C=4]
LT = [1, 3, 0]
LX = t([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]])  # extreme logits [2, 3]
LXT = [1, 1]
LP = t([[-1.5, -0.3, -2.0, -4.0], [-0.7, -1.1, -2.2, -0.9], [-0.1, -3.0, -2.5, -6.0]])

REDUCTIONS = ["mean", "sum", "none"]


def fmt(values):
    return "{" + ", ".join(repr(float(v)) for v in values) + "}"


def flat(x):
    return x.detach().reshape(-1).tolist()


def entry(name, fn, x, y=None, target_grad=True):
    for r in REDUCTIONS:
        xi = x.clone().requires_grad_(True)
        if isinstance(y, torch.Tensor):
            yi = y.clone().requires_grad_(target_grad)
        else:
            yi = y
        out = fn(xi, yi, r)
        out.sum().backward()
        gy = flat(yi.grad) if target_grad else []
        print(f'    {{"{name}/{r}", {fmt(flat(out))}, {fmt(flat(xi.grad))}, {fmt(gy)}}},')


def main():
    for var, value in [("kX", X), ("kY", Y), ("kP", P), ("kPY", PY), ("kZ", Z), ("kZY", ZY),
                       ("kL", L), ("kLX", LX), ("kLP", LP)]:
        print(f"const std::vector<double> {var} = {fmt(flat(value))};")
    print(f"const std::vector<std::int64_t> kLT = {{{', '.join(map(str, LT))}}};")
    print(f"const std::vector<std::int64_t> kLXT = {{{', '.join(map(str, LXT))}}};")
    print("const std::vector<Reference> kReference = {")
    entry("mse_loss", lambda a, b, r: F.mse_loss(a, b, reduction=r), X, Y)
    entry("l1_loss", lambda a, b, r: F.l1_loss(a, b, reduction=r), X, Y)
    entry("huber_loss", lambda a, b, r: F.huber_loss(a, b, reduction=r), X, Y)
    entry("huber_loss_0.5", lambda a, b, r: F.huber_loss(a, b, reduction=r, delta=0.5), X, Y)
    entry("binary_cross_entropy", lambda a, b, r: F.binary_cross_entropy(a, b, reduction=r),
          P, PY)
    entry("bce_with_logits",
          lambda a, b, r: F.binary_cross_entropy_with_logits(a, b, reduction=r), Z, ZY)
    tl, txt = torch.tensor(LT), torch.tensor(LXT)
    entry("cross_entropy", lambda a, _, r: F.cross_entropy(a, tl, reduction=r), L, LT, False)
    entry("cross_entropy_ls0.1",
          lambda a, _, r: F.cross_entropy(a, tl, reduction=r, label_smoothing=0.1), L, LT, False)
    entry("cross_entropy_ls1",
          lambda a, _, r: F.cross_entropy(a, tl, reduction=r, label_smoothing=1.0), L, LT, False)
    entry("cross_entropy_extreme",
          lambda a, _, r: F.cross_entropy(a, txt, reduction=r, label_smoothing=0.2), LX, LXT,
          False)
    entry("nll_loss", lambda a, _, r: F.nll_loss(a, tl, reduction=r), LP, LT, False)
    print("};")


if __name__ == "__main__":
    main()
