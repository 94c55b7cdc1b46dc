# Per-configuration derivative errors of an exported FP-action model (`blockspin export`'s .pt) on an fp_data.h5:
#   /usr/bin/python3 per_configuration_errors.py MODEL.pt FP_DATA.h5
# D_a = Re Tr(i t^a U G†) from torch's link gradient G (lattice/derivatives.h), t^a = λ^a/2; per row
# L2_i = 1/(8(N²-1)L⁴) Σ_{x,μ,a} (D^FP − D)² (the L2 of one configuration). Prints, per β_wil, the mean and
# median of L2_i, max/mean, the share of the three largest rows, and the mean relative action error.
import sys

import h5py
import numpy as np
import torch

torch._C._set_graph_executor_optimize(False)  # gradients of complex outputs through TorchScript (pitfalls note)
model = torch.jit.load(sys.argv[1])
f = h5py.File(sys.argv[2])
links = f['coarse_links'][:]
U = torch.from_numpy(links['r'] + 1j * links['i'] if links.dtype.names else links).to(torch.complex128)
A, D, beta, conv = (torch.from_numpy(f['action'][:]), torch.from_numpy(f['derivatives'][:]), f['beta_wil'][:],
                    f['converged'][:])
lam = torch.zeros(8, 3, 3, dtype=torch.complex128)
lam[0, 0, 1] = lam[0, 1, 0] = 1
lam[1, 0, 1], lam[1, 1, 0] = -1j, 1j
lam[2, 0, 0], lam[2, 1, 1] = 1, -1
lam[3, 0, 2] = lam[3, 2, 0] = 1
lam[4, 0, 2], lam[4, 2, 0] = -1j, 1j
lam[5, 1, 2] = lam[5, 2, 1] = 1
lam[6, 1, 2], lam[6, 2, 1] = -1j, 1j
lam[7, 0, 0] = lam[7, 1, 1] = 3 ** -0.5
lam[7, 2, 2] = -2 * 3 ** -0.5
rows = []
for i in range(U.shape[0]):
    if not conv[i]:
        continue
    x = U[i:i + 1].clone().requires_grad_(True)
    y = model(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    Dm = torch.einsum('aij,...ji->...a', 0.5j * lam, x.detach() @ g.conj().transpose(-1, -2)).real[0]
    l2 = 0.5 * ((Dm - D[i]) ** 2).mean().item()  # Σ over 4 L⁴ · 8 entries / (8 · 8 · L⁴)
    rows.append((beta[i], l2, abs(y.item() - A[i].item()) / A[i].item()))
rows = np.array(rows)
for b in np.unique(rows[:, 0]):
    r = rows[rows[:, 0] == b]
    e = np.sort(r[:, 1])
    print(f"beta_wil {b:g}: n={len(r)} L2 mean {e.mean():.3e} median {np.median(e):.3e} max/mean {e.max() / e.mean():.2f} "
          f"top-3 share {e[-3:].sum() / e.sum():.2f}  relative action error {r[:, 2].mean():.2e}")
