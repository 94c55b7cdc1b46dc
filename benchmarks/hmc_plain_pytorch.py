#!/usr/bin/python3
"""Plain-PyTorch re-statement of one HMC trajectory on 8^4 SU(3) (Wilson, beta = 6, tau = 1, 20 leapfrog steps,
double) -- the reference a C++ framework has to beat (issue 16). Same algorithm as lattice/hmc.cpp: H = 1/2 sum p_a^2
+ S, U' = exp(i eps p^a t^a) U, p' = p - eps D (D the left Lie derivative), Metropolis at the end. Prints JSON:
{"trajectories_per_s", "seconds", "n", "threads", "torch", "blas"}.

    /usr/bin/python3 benchmarks/hmc_plain_pytorch.py   (Debian python3-torch) [--n 3] [--L 8] [--steps 20] [--threads 2]
"""
import argparse
import json
import time

import torch


def su3_generators(dtype):
    l = torch.zeros(8, 3, 3, dtype=dtype)
    l[0, 0, 1] = l[0, 1, 0] = 1
    l[1, 0, 1], l[1, 1, 0] = -1j, 1j
    l[2, 0, 0], l[2, 1, 1] = 1, -1
    l[3, 0, 2] = l[3, 2, 0] = 1
    l[4, 0, 2], l[4, 2, 0] = -1j, 1j
    l[5, 1, 2] = l[5, 2, 1] = 1
    l[6, 1, 2], l[6, 2, 1] = -1j, 1j
    l[7, 0, 0] = l[7, 1, 1] = 1 / 3 ** 0.5
    l[7, 2, 2] = -2 / 3 ** 0.5
    return l / 2  # Tr t^a t^b = delta_ab / 2


def dag(a):
    return a.transpose(-2, -1).conj()


def shift(f, mu, k):  # f(x + k mu); f is [x0, x1, x2, x3, 3, 3]
    return torch.roll(f, shifts=-k, dims=mu)


def staples(U, mu):
    """Sum over nu != mu of the upper and lower staples: U_mu(x) A_mu(x) closes the plaquettes."""
    A = torch.zeros_like(U[mu])
    for nu in range(4):
        if nu == mu:
            continue
        up = shift(U[nu], mu, 1) @ dag(shift(U[mu], nu, 1)) @ dag(U[nu])
        down = dag(shift(shift(U[nu], mu, 1), nu, -1)) @ dag(shift(U[mu], nu, -1)) @ shift(U[nu], nu, -1)
        A = A + up + down
    return A


def action(U, beta):
    s = 0.0
    for mu in range(4):
        for nu in range(mu + 1, 4):
            P = U[mu] @ shift(U[nu], mu, 1) @ dag(shift(U[mu], nu, 1)) @ dag(U[nu])
            s = s + (1 - torch.diagonal(P, dim1=-2, dim2=-1).sum(-1).real / 3).sum()
    return beta * s


def force(U, beta, t):
    """D_{x,mu,a} = d/d eps S[exp(i eps t^a) U] = -(beta/3) Re Tr(i t^a U A)."""
    out = []
    for mu in range(4):
        M = U[mu] @ staples(U, mu)
        out.append(-(beta / 3) * torch.einsum("aij,...ji->...a", 1j * t, M).real)
    return torch.stack(out)


def algebra_to_matrix(p, t):
    return torch.einsum("...a,aij->...ij", p.to(t.dtype), t)


def trajectory(U, beta, steps, t, gen):
    eps = 1.0 / steps
    p = torch.randn(U.shape[:-2] + (8,), dtype=torch.float64, generator=gen)
    H0 = 0.5 * (p ** 2).sum() + action(U, beta)
    V = U
    p = p - 0.5 * eps * force(V, beta, t)
    for i in range(steps):
        V = torch.matrix_exp(1j * eps * algebra_to_matrix(p, t)) @ V
        if i < steps - 1:
            p = p - eps * force(V, beta, t)
    p = p - 0.5 * eps * force(V, beta, t)
    H1 = 0.5 * (p ** 2).sum() + action(V, beta)
    accept = torch.rand((), dtype=torch.float64, generator=gen) < torch.exp(H0 - H1)
    return (V if accept else U), float(H1 - H0)


def near_identity(L, gen, t, eps=0.4):
    a = eps * torch.randn((4, L, L, L, L, 8), dtype=torch.float64, generator=gen)
    return torch.matrix_exp(1j * algebra_to_matrix(a, t))


def mapped_blas():
    """The BLAS library this process has mapped (the real file behind libblas.so.3), as `blockspin --version`."""
    import os
    import re
    with open("/proc/self/maps") as maps:
        for line in maps:
            m = re.search(r"(/\S*(blas|openblas|mkl_rt|blis)\S*\.so\S*)", line)
            if m:
                return os.path.realpath(m.group(1))
    return "none mapped"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3, help="timed trajectories (after one warm-up)")
    ap.add_argument("--L", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: torch default)")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(1)
    t = su3_generators(torch.complex128)
    U = near_identity(a.L, gen, t)
    U, _ = trajectory(U, 6.0, a.steps, t, gen)  # warm-up
    start = time.perf_counter()
    dH = []
    for _ in range(a.n):
        U, d = trajectory(U, 6.0, a.steps, t, gen)
        dH.append(d)
    seconds = time.perf_counter() - start
    blas = mapped_blas()
    print(json.dumps({"trajectories_per_s": a.n / seconds, "seconds": seconds, "n": a.n, "L": a.L,
                      "steps": a.steps, "delta_H": dH, "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "blas": blas}))


if __name__ == "__main__":
    main()
