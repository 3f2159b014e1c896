"""Reference numbers for tests/test_functional.cpp from PyTorch 1.13's
torch.autograd.functional (float64).

Run with Debian's python3-torch:  /usr/bin/python3 tests/data/functional_reference.py
It prints C++ initialisers, pasted into tests/test_functional.cpp under the same names.
The functions and inputs are the same there:
  A(x)    = tanh(x) * exp(x / 2)                          x [3]
  B(x, W) = log_softmax(x @ W, dim=1)                     x [2, 3], W [3, 4]
  C(x, y) = sum(softplus(x) * y**2) + sum(gelu(x * y))    x, y [2, 2]
  D(x)    = logsumexp(elu(x), dim=0) summed, then + sum(sigmoid(x)**3)   x [3, 2]
"""
import torch
from torch.autograd.functional import hessian, hvp, jacobian, jvp, vjp

torch.set_default_dtype(torch.float64)
F = torch.nn.functional


def grid(shape, a, b):
    """Deterministic inputs: ((a*i + b) % 7 - 3) / 4 over the flat index i."""
    n = 1
    for s in shape:
        n *= s
    return torch.tensor([((a * i + b) % 7 - 3) / 4 for i in range(n)]).reshape(shape)


def A(x):
    return torch.tanh(x) * torch.exp(x / 2)


def B(x, W):
    return F.log_softmax(x @ W, dim=1)


def C(x, y):
    return (F.softplus(x) * y ** 2).sum() + F.gelu(x * y).sum()


def D(x):
    return torch.logsumexp(F.elu(x), dim=0).sum() + (torch.sigmoid(x) ** 3).sum()


def show(name, t):
    flat = ", ".join(repr(float(v)) for v in t.reshape(-1))
    shape = ", ".join(str(s) for s in t.shape)
    print(f"const Ref {name}{{{{{shape}}}, {{{flat}}}}};")


xa = grid([3], 3, 1)
va = grid([3], 2, 5)
show("kJacobianA", jacobian(A, xa))
out, g = vjp(A, xa, va)
show("kVjpA", g)
out, g = jvp(A, xa, va)
show("kJvpA", g)

xb, wb = grid([2, 3], 5, 2), grid([3, 4], 3, 6)
jx, jw = jacobian(B, (xb, wb))
show("kJacobianBx", jx)
show("kJacobianBw", jw)
vb = (grid([2, 3], 1, 3), grid([3, 4], 4, 1))
out, g = jvp(B, (xb, wb), vb)
show("kJvpB", g)

xc, yc = grid([2, 2], 2, 4), grid([2, 2], 3, 2)
h = hessian(C, (xc, yc))
show("kHessianCxx", h[0][0])
show("kHessianCxy", h[0][1])
show("kHessianCyx", h[1][0])
show("kHessianCyy", h[1][1])
vc = (grid([2, 2], 5, 5), grid([2, 2], 1, 6))
out, g = hvp(C, (xc, yc), vc)
show("kHvpCx", g[0])
show("kHvpCy", g[1])

xd = grid([3, 2], 4, 3)
show("kHessianD", hessian(D, xd))
