"""A real torch.nn.Module's state_dict as .npz files, and its outputs, for test_nn_serialize.cpp.

Run with Debian's python3-torch:  /usr/bin/python3 tests/data/torch_state_dict.py
It writes beside itself (the files are committed, so ctest never needs torch):
  torch_mlp_f32.npz        the state_dict of Linear(4, 8) - Tanh - Linear(8, 3), float32
  torch_mlp_f64.npz        the same weights after model.double(), float64
  torch_mlp_reference.npz  "x": the input (float64, 5 x 4), "out_f32" and "out_f64": the
                           model's outputs on it in each dtype
each saved with numpy as the README says:
  np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
"""
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
# Fixed, exactly representable inputs: x[i][j] = ((3 i + 5 j) % 7 - 3) / 4.
x64 = torch.tensor([[((3 * i + 5 * j) % 7 - 3) / 4 for j in range(4)] for i in range(5)],
                   dtype=torch.float64)


def save_state(path, m):
    np.savez(path, **{k: v.detach().numpy() for k, v in m.state_dict().items()})


with torch.no_grad():
    save_state(os.path.join(HERE, "torch_mlp_f32.npz"), model)
    out_f32 = model(x64.float()).numpy()
    model.double()
    save_state(os.path.join(HERE, "torch_mlp_f64.npz"), model)
    out_f64 = model(x64).numpy()
np.savez(os.path.join(HERE, "torch_mlp_reference.npz"), x=x64.numpy(), out_f32=out_f32,
         out_f64=out_f64)
print("torch %s: wrote torch_mlp_f32.npz, torch_mlp_f64.npz, torch_mlp_reference.npz"
      % torch.__version__)
