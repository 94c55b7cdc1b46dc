# Per-configuration derivative errors of an exported FP-action model (`blockspin export`'s .pt) on an fp_data.h5:
#   /usr/bin/python3 per_configuration_errors.py MODEL.pt FP_DATA.h5
# D_a = Re Tr(i t^a U G†) from torch's link gradient G (lattice/derivatives.h), t^a = λ^a/2 (the generators of
# benchmarks/hmc_plain_pytorch.py); per row
# L2_i = 1/(8(N²-1)L⁴) Σ_{x,μ,a} (D^FP − D)² (the L2 of one configuration). Prints, per β_wil, the mean and
# median of L2_i, max/mean, the share of the three largest rows, and the mean relative action error.
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'benchmarks'))
from hmc_plain_pytorch import su3_generators  # noqa: E402

torch._C._set_graph_executor_optimize(False)  # gradients of complex outputs through TorchScript (pitfalls note)
model = torch.jit.load(sys.argv[1])
f = h5py.File(sys.argv[2])
links = f['coarse_links'][:]
U = torch.from_numpy(links['r'] + 1j * links['i'] if links.dtype.names else links).to(torch.complex128)
A, D, beta, conv = (torch.from_numpy(f['action'][:]), torch.from_numpy(f['derivatives'][:]), f['beta_wil'][:],
                    f['converged'][:])
t = su3_generators(torch.complex128)  # λ^a / 2
rows = []
for i in range(U.shape[0]):
    if not conv[i]:
        continue
    x = U[i:i + 1].clone().requires_grad_(True)
    y = model(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    Dm = torch.einsum('aij,...ji->...a', 1j * t, x.detach() @ g.conj().transpose(-1, -2)).real[0]
    l2 = 0.5 * ((Dm - D[i]) ** 2).mean().item()  # Σ over 4 L⁴ · 8 entries / (8 · 8 · L⁴)
    rows.append((beta[i], l2, abs(y.item() - A[i].item()) / A[i].item()))
rows = np.array(rows)
for b in np.unique(rows[:, 0]):
    r = rows[rows[:, 0] == b]
    e = np.sort(r[:, 1])
    print(f"beta_wil {b:g}: n={len(r)} L2 mean {e.mean():.3e} median {np.median(e):.3e} max/mean {e.max() / e.mean():.2f} "
          f"top-3 share {e[-3:].sum() / e.sum():.2f}  relative action error {r[:, 2].mean():.2e}")
