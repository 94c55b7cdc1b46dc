#!/usr/bin/python3
"""Plain-PyTorch re-statement of one training step of the FP papers' L-CNN on 4^4 SU(3) -- the reference the C++
L-CNN has to beat (issue 16). Same network as bench_lcnn's fp_model (lcnn/): Plaq (6 plaquettes) -> 3 L-ConvBilin
layers (12/24/24 channels, kernel sizes 2, 2, 1; transport stack W, U W(x+mu) U^dag, U^dag W(x-mu) U; bilinear
products with conjugates and the unit matrix) -> Re Tr -> linear -> sum over sites: 204,853 real parameters, used as
complex coefficients in einsum as a Python user writes it. Step: A(U), the left Lie derivative D(U) by autograd with
create_graph, loss = A^2 + sum D^2, loss.backward() (double backprop). Prints JSON:
{"configs_per_s", "seconds", "n", "threads", "parameters", "torch"}.

    /usr/bin/python3 benchmarks/lcnn_plain_pytorch.py [--L 4] [--n 3] [--threads 1] [--float]
"""
import argparse
import json
import time

import torch

from hmc_plain_pytorch import dag, shift, su3_generators


def plaquettes(U):
    """P_mu,nu(x) for mu < nu: [6, x.., 3, 3] (U is [4, x.., 3, 3])."""
    return torch.stack([U[m] @ shift(U[n], m, 1) @ dag(shift(U[m], n, 1)) @ dag(U[n])
                        for m in range(4) for n in range(m + 1, 4)])


def transport_stack(U, W, k):
    """W, then for each direction and both orientations W parallel-transported by 1 .. k-1 links: [C*T, x.., 3, 3]."""
    terms = [W]
    for mu in range(4):
        t = W
        for _ in range(1, k):
            t = U[mu].unsqueeze(0) @ shift(t, mu + 1, 1) @ dag(U[mu]).unsqueeze(0)
            terms.append(t)
        t = W
        for _ in range(1, k):
            t = shift(dag(U[mu]).unsqueeze(0) @ t @ U[mu].unsqueeze(0), mu + 1, -1)
            terms.append(t)
    return torch.cat(terms)


def with_conjugate_and_unit(W):
    eye = torch.eye(3, dtype=W.dtype).expand(1, *W.shape[1:])
    return torch.cat([W, dag(W), eye])


class LConvBilin(torch.nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.k = k
        n_a, n_b = 2 * cin + 1, 2 * cin * (1 + 8 * (k - 1)) + 1
        self.weight = torch.nn.Parameter(torch.randn(cout, n_a, n_b, dtype=torch.float64) / (n_a * n_b) ** 0.5)

    def forward(self, U, W):
        A = with_conjugate_and_unit(W)
        B = with_conjugate_and_unit(transport_stack(U, W, self.k))
        C = torch.einsum("ivw,w...->iv...", self.weight.to(W.dtype), B)  # [out, n_a, x.., 3, 3]
        return (A.unsqueeze(0) @ C).sum(1)


class FpModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([LConvBilin(6, 12, 2), LConvBilin(12, 24, 2), LConvBilin(24, 24, 1)])
        self.readout = torch.nn.Linear(24, 1, dtype=torch.float64)

    def forward(self, U):
        W = plaquettes(U)
        for layer in self.layers:
            W = layer(U, W)
        tr = torch.diagonal(W, dim1=-2, dim2=-1).sum(-1).real  # [24, x..]
        return self.readout(tr.flatten(1).T.to(self.readout.weight.dtype)).sum()


def random_field(L, dtype, gen):
    t = su3_generators(dtype)
    w = 0.4 * torch.randn(4, L, L, L, L, 8, generator=gen, dtype=torch.float64)
    return torch.matrix_exp(1j * torch.einsum("...a,aij->...ij", w.to(dtype), t))


def left_derivative(A, U, t):
    """D_a = Re Tr(i t^a U G^dag), G = dA/dU in torch's convention, kept differentiable."""
    (G,) = torch.autograd.grad(A, U, create_graph=True)
    M = U @ dag(G)
    return torch.einsum("aij,...ji->...a", 1j * t, M).real


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--L", type=int, default=4)
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--float", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    cdt = torch.complex64 if a.float else torch.complex128
    model = FpModel()
    if a.float:
        model = model.float()
    t = su3_generators(cdt)
    U = random_field(a.L, cdt, torch.Generator().manual_seed(3)).requires_grad_(True)

    def step():
        model.zero_grad()
        A = model(U)
        D = left_derivative(A, U, t)
        loss = A.pow(2) + D.pow(2).sum()
        loss.backward()
        return loss.item()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(a.n):
        step()
    seconds = (time.perf_counter() - t0) / a.n
    print(json.dumps({"configs_per_s": 1.0 / seconds, "seconds": seconds, "n": a.n, "threads": a.threads,
                      "parameters": sum(p.numel() for p in model.parameters()), "float": a.float,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
