"""torch.ops.blockspin.* from Python (Debian python3-torch) against a plain-PyTorch statement of the same formulas.

Usage: python3 tests/python/test_ops.py build/lib/libblockspin_ops.so
Every check runs with the fused kernels and with the torch path (kernels_mode), in double precision.
"""
import itertools
import math
import sys
import unittest

import torch

LIB = sys.argv.pop(1) if len(sys.argv) > 1 else "build/lib/libblockspin_ops.so"
torch.ops.load_library(LIB)
ops = torch.ops.blockspin


def generators(n):
    """Generalised Gell-Mann matrices / 2, in the order of lattice/su_n.cpp: S_jk, A_jk for j < k, then H_k."""
    t = []
    for k in range(1, n):
        for j in range(k):
            s = torch.zeros(n, n, dtype=torch.complex128)
            s[j, k] = s[k, j] = 0.5
            a = torch.zeros(n, n, dtype=torch.complex128)
            a[j, k], a[k, j] = -0.5j, 0.5j
            t += [s, a]
        h = torch.zeros(n, n, dtype=torch.complex128)
        norm = 0.5 * math.sqrt(2.0 / (k * (k + 1)))
        for j in range(k):
            h[j, j] = norm
        h[k, k] = -norm * k
        t.append(h)
    return torch.stack(t)


def random_field(shape, n, seed, spread=1.0):
    """exp(i Σ ω_a t^a) with Gaussian ω: a random SU(N) field [1, D, *shape, N, N]."""
    g = torch.Generator().manual_seed(seed)
    d = len(shape)
    w = spread * torch.randn(1, d, *shape, n * n - 1, generator=g, dtype=torch.float64)
    return torch.matrix_exp(1j * torch.einsum("...a,aij->...ij", w.to(torch.complex128), generators(n)))


def exp_taylor(X, terms=40):
    """exp(X) by its Taylor series in double (for |X| <= 3 the remainder and the rounding stay near 1e-15). The
    reference for the link update: torch.matrix_exp of Debian's PyTorch 1.13 is off by up to ~5e-11 for complex
    matrices of norm 0.01-0.1 (measured against this series), where our kernels agree with it to ~2e-16."""
    E = torch.eye(X.shape[-1], dtype=X.dtype).expand_as(X).clone()
    term = E.clone()
    for k in range(1, terms):
        term = term @ X / k
        E = E + term
    return E


def link(U, mu):
    return U[:, mu]


def shift(X, mu, step):
    """X(x + step·μ̂) for X [batch, x.., N, N] (lattice axis mu is tensor axis 1 + mu)."""
    return torch.roll(X, shifts=-step, dims=1 + mu)


def dag(X):
    return X.transpose(-2, -1).conj()


def plaquette_deficit(U):
    n, d = U.shape[-1], U.shape[1]
    s = 0
    for mu in range(d):
        for nu in range(mu + 1, d):
            P = link(U, mu) @ shift(link(U, nu), mu, 1) @ dag(shift(link(U, mu), nu, 1)) @ dag(link(U, nu))
            s = s + (n - torch.diagonal(P, dim1=-2, dim2=-1).sum(-1).real).flatten(1).sum(1)
    return s


def staples(U, mu):
    A = 0
    for nu in range(U.shape[1]):
        if nu == mu:
            continue
        Umu, Unu = link(U, mu), link(U, nu)
        A = A + shift(Unu, mu, 1) @ dag(shift(Umu, nu, 1)) @ dag(Unu)
        A = A + dag(shift(shift(Unu, mu, 1), nu, -1)) @ dag(shift(Umu, nu, -1)) @ shift(Unu, nu, -1)
    return A.unsqueeze(1)


def step_link(U, nu, sign):
    """L_{±ν}(x): U_ν(x) forward, U_ν(x − ν̂)† backward."""
    return link(U, nu) if sign > 0 else dag(shift(link(U, nu), nu, -1))


def smear_links(U, s_pl, s_d, s_hd):
    """S_μ = s0 U_μ + Σ_k w_k Σ_{signed transverse sets S, |S| = k} F_S, with the mirrored-path recursion
    F_S(x) = (1/|S|) Σ_{s ∈ S} L_s(x) F_{S∖s}(x + s) L_s(x + μ̂)† (lattice/smearing.h), by rolls."""
    d = U.shape[1]
    weights = (s_pl, s_d, s_hd)
    out = []
    for mu in range(d):
        transverse = [nu for nu in range(d) if nu != mu]
        memo = {}

        def F(S):
            if not S:
                return link(U, mu)
            if S not in memo:
                acc = 0
                for nu, sign in S:
                    L = step_link(U, nu, sign)
                    acc = acc + L @ shift(F(S - {(nu, sign)}), nu, sign) @ dag(shift(L, mu, 1))
                memo[S] = acc / len(S)
            return memo[S]

        S_mu = 0
        n_paths = 0
        for k, w in enumerate(weights, start=1):
            for dirs in itertools.combinations(transverse, k):
                for signs in itertools.product((1, -1), repeat=k):
                    S_mu = S_mu + w * F(frozenset(zip(dirs, signs)))
                    n_paths += w
        out.append((1.0 - n_paths) * link(U, mu) + S_mu)
    return torch.stack(out, 1)


def block_links(U, s_pl, s_d, s_hd):
    """Q_μ(x_B) = S_μ(2x_B) S_μ(2x_B + μ̂)."""
    S = smear_links(U, s_pl, s_d, s_hd)
    d = U.shape[1]
    per_mu = []
    for mu in range(d):
        first = link(S, mu)
        second = shift(first, mu, 1)
        for nu in range(d):  # even sites 2x_B
            even = torch.arange(0, first.shape[1 + nu], 2)
            first, second = first.index_select(1 + nu, even), second.index_select(1 + nu, even)
        per_mu.append(first @ second)
    return torch.stack(per_mu, 1)


def left_derivative(action, U):
    """D_{x,μ,a} = d/dε S[exp(iε t^a) U_μ(x)] at ε = 0, by autograd in ω (convention of lattice/derivatives.h)."""
    n = U.shape[-1]
    w = torch.zeros(*U.shape[:-2], n * n - 1, dtype=torch.float64, requires_grad=True)
    X = 1j * torch.einsum("...a,aij->...ij", w.to(torch.complex128), generators(n))
    (g,) = torch.autograd.grad(action(torch.matrix_exp(X) @ U).sum(), w)
    return g


class OpsTest(unittest.TestCase):
    def each_mode(self):
        for mode in ("fused", "torch"):
            self.assertEqual(ops.kernels_mode(mode), mode)
            yield mode
        ops.kernels_mode("fused")

    def assertClose(self, a, b, rtol, what):
        err = (a - b).abs().max().item() / max(b.abs().max().item(), 1e-300)
        self.assertLess(err, rtol, f"{what}: relative error {err:.3e}")

    def fields(self):
        return [(random_field((4, 3, 4, 2), 3, 1), 3), (random_field((3, 4, 2), 2, 2), 2)]

    def test_plaquette_deficit_value_gradient_and_second_order(self):
        for U, n in self.fields():
            ref = plaquette_deficit(U)
            for mode in self.each_mode():
                self.assertClose(ops.plaquette_deficit(U), ref, 1e-13, f"SU({n}) value, {mode}")
                X = U.clone().requires_grad_(True)
                (g,) = torch.autograd.grad(ops.plaquette_deficit(X).sum(), X, create_graph=True)
                Y = U.clone().requires_grad_(True)
                (g_ref,) = torch.autograd.grad(plaquette_deficit(Y).sum(), Y, create_graph=True)
                self.assertClose(g.detach(), g_ref.detach(), 1e-13, f"SU({n}) gradient, {mode}")
                v = torch.randn(U.shape, dtype=torch.complex128, generator=torch.Generator().manual_seed(5))
                (h,) = torch.autograd.grad((g * v.conj()).real.sum(), X)
                (h_ref,) = torch.autograd.grad((g_ref * v.conj()).real.sum(), Y)
                self.assertClose(h, h_ref, 1e-12, f"SU({n}) second derivative, {mode}")

    def test_staples_close_the_plaquettes(self):
        for U, n in self.fields():
            for mode in self.each_mode():
                A = ops.wilson_staples(U, -1)
                for mu in range(U.shape[1]):
                    self.assertClose(A[:, mu : mu + 1], staples(U, mu), 1e-13, f"SU({n}) A_{mu}, {mode}")
                    self.assertClose(ops.wilson_staples(U, mu), staples(U, mu), 1e-13, f"SU({n}) A_{mu} alone, {mode}")

    def test_force_is_the_left_derivative_of_the_wilson_action(self):
        beta = 5.7
        for U, n in self.fields():
            ref = left_derivative(lambda V: beta / n * plaquette_deficit(V), U)
            for mode in self.each_mode():
                self.assertClose(ops.wilson_force(U, beta), ref, 1e-12, f"SU({n}) force, {mode}")

    def test_link_update_is_the_group_exponential(self):
        for U, n in self.fields():
            p = torch.randn(*U.shape[:-2], n * n - 1, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
            for eps in (0.05, 1.3):  # 1.3: the scaling and squaring branch
                X = 1j * eps * torch.einsum("...a,aij->...ij", p.to(torch.complex128), generators(n))
                ref = exp_taylor(X) @ U
                for mode in self.each_mode():
                    self.assertClose(ops.link_update(U, p, eps), ref, 1e-13, f"SU({n}) eps={eps}, {mode}")

    def test_smeared_and_blocked_links_value_and_gradient(self):
        weights = [(0.07, 0.016, 0.008), (0.11, -0.03, 0.0)]
        for U, n in [(random_field((4, 2, 4, 2), 3, 5, 0.5), 3), (random_field((4, 4, 2), 2, 6, 0.5), 2)]:
            g = torch.Generator().manual_seed(7)
            G = torch.randn(U.shape, generator=g, dtype=torch.complex128)
            for w in weights:
                ref = smear_links(U, *w)
                x = U.clone().requires_grad_(True)
                (ref_grad,) = torch.autograd.grad((G.conj() * smear_links(x, *w)).real.sum(), x)
                Q_ref = block_links(U, *w)
                for mode in self.each_mode():
                    what = f"SU({n}) w={w}, {mode}"
                    self.assertClose(ops.smear_links(U, *w), ref, 1e-13, "smear_links " + what)
                    x = U.clone().requires_grad_(True)
                    (grad,) = torch.autograd.grad((G.conj() * ops.smear_links(x, *w)).real.sum(), x)
                    self.assertClose(grad, ref_grad, 1e-12, "smear_links gradient " + what)
                    self.assertClose(ops.block_links(U, *w), Q_ref, 1e-13, "block_links " + what)
                    x = U.clone().requires_grad_(True)
                    Q = ops.block_links(x, *w)
                    H = torch.randn(Q.shape, generator=torch.Generator().manual_seed(8), dtype=torch.complex128)
                    (gq,) = torch.autograd.grad((H.conj() * Q).real.sum(), x)
                    x = U.clone().requires_grad_(True)
                    (gq_ref,) = torch.autograd.grad((H.conj() * block_links(x, *w)).real.sum(), x)
                    self.assertClose(gq, gq_ref, 1e-12, "block_links gradient " + what)

    def test_maximiser_is_stationary_and_in_su_n(self):
        g = torch.Generator().manual_seed(9)
        for n in (2, 3):
            Q = torch.randn(50, n, n, generator=g, dtype=torch.complex128)
            for mode in self.each_mode():
                W = ops.su_n_maximiser(Q)
                eye = torch.eye(n, dtype=torch.complex128)
                self.assertClose(W @ dag(W), eye.expand_as(W), 1e-13, f"unitarity SU({n}) {mode}")
                self.assertLess((torch.linalg.det(W) - 1).abs().max().item(), 1e-13)
                # Re Tr(i t^a W Q†) = 0 for every generator, and no random nearby element does better
                M = W @ dag(Q)
                grad = torch.einsum("aij,...ji->...a", 1j * generators(n), M).real
                self.assertLess(grad.abs().max().item(), 1e-12 * Q.abs().max().item())
                best = torch.diagonal(M, dim1=-2, dim2=-1).sum(-1).real
                near = random_field((50,), n, 10, 0.01)[0, 0] @ W
                value = torch.diagonal(near @ dag(Q), dim1=-2, dim2=-1).sum(-1).real
                self.assertTrue(bool((value <= best + 1e-12).all()))

    def test_overrelaxation_keeps_the_action(self):
        U = random_field((4, 2, 4, 2), 3, 11, 0.4)
        for mode in self.each_mode():
            V = ops.overrelaxation_sweep(U, 6.0)
            self.assertGreater((V - U).abs().max().item(), 1e-3)
            self.assertClose(plaquette_deficit(V), plaquette_deficit(U), 1e-12, f"overrelaxation, {mode}")

    def test_channel_products_every_pattern_to_second_order(self):
        # R_r = sum over the (o, k) cells mapping to r of op(X) op(Y), against explicit per-cell matrix products; the
        # gradient of <H, d<G, R>> checks double backprop (the L-CNN bilinear layer's training).
        O, K = 2, 3
        idx = {"o": lambda o, k: o, "k": lambda o, k: k, "ok": lambda o, k: o * K + k}
        count = {"o": O, "k": K, "ok": O * K}

        def plain(X, Y, pattern, dx, dy):
            (x, y), r = pattern.split("->")[0].split(","), pattern.split("->")[1]
            out = [0] * count[r]
            for o in range(O):
                for k in range(K):
                    a, b = X[:, idx[x](o, k)], Y[:, idx[y](o, k)]
                    out[idx[r](o, k)] = out[idx[r](o, k)] + (dag(a) if dx else a) @ (dag(b) if dy else b)
            return torch.stack(out, 1)

        gen = torch.Generator().manual_seed(11)
        for n, sites in ((3, (3, 5)), (2, (2, 3, 2))):
            for pattern in ("k,ok->o", "ok,k->o", "o,ok->k", "ok,o->k", "k,o->ok", "o,k->ok"):
                (x, y), r = pattern.split("->")[0].split(","), pattern.split("->")[1]
                X0 = torch.randn((2, count[x]) + sites + (n, n), dtype=torch.complex128, generator=gen)
                Y0 = torch.randn((2, count[y]) + sites + (n, n), dtype=torch.complex128, generator=gen)
                G = torch.randn((2, count[r]) + sites + (n, n), dtype=torch.complex128, generator=gen)
                for dx, dy in itertools.product((False, True), repeat=2):
                    for mode in self.each_mode():
                        def grads(f):
                            X, Y = X0.clone().requires_grad_(True), Y0.clone().requires_grad_(True)
                            R = f(X, Y)
                            gx, gy = torch.autograd.grad((G.conj() * R).real.sum(), (X, Y), create_graph=True)
                            hx, hy = torch.autograd.grad((gx.conj() * gx).real.sum() + (gy.conj() * gy).real.sum(),
                                                         (X, Y))
                            return [R.detach(), gx.detach(), gy.detach(), hx, hy]

                        got = grads(lambda X, Y: ops.channel_products(X, Y, O, K, pattern, dx, dy))
                        ref = grads(lambda X, Y: plain(X, Y, pattern, dx, dy))
                        for i, name in enumerate(("value", "dX", "dY", "second (X)", "second (Y)")):
                            self.assertClose(got[i], ref[i], 1e-12, f"SU({n}) {pattern} dag {dx}{dy} {name}, {mode}")
        with self.assertRaisesRegex(RuntimeError, "x,y->r"):
            ops.channel_products(X0, Y0, O, K, "k;ok->o")
        with self.assertRaisesRegex(RuntimeError, "expected X"):
            ops.channel_products(Y0, Y0, O, K, "k,ok->o")

    def test_transport_value_gradients_and_double_backward(self):
        # Against the rolls-and-matmuls statement; the gradient of <H, ∂<G, T>> checks double backprop (the L-CNN's
        # training through D = dA/dU).
        def plain(Umu, W, mu, d):
            u, w = Umu[:, 0], W
            if d > 0:
                return (u.unsqueeze(1) @ torch.roll(w, -1, 2 + mu) @ dag(u).unsqueeze(1))
            return torch.roll(dag(u).unsqueeze(1) @ w @ u.unsqueeze(1), 1, 2 + mu)

        gen = torch.Generator().manual_seed(7)
        for U, n in self.fields():
            D = U.dim() - 4
            shape = (U.shape[0], 2) + tuple(U.shape[2:])
            W = torch.randn(shape, dtype=torch.complex128, generator=gen)
            G = torch.randn(shape, dtype=torch.complex128, generator=gen)
            for mu in range(D):
                for d in (1, -1):
                    for mode in self.each_mode():
                        def grads(f):
                            u = U[:, mu:mu + 1].clone().requires_grad_(True)
                            w = W.clone().requires_grad_(True)
                            T = f(u, w, mu, d)
                            gu, gw = torch.autograd.grad((G.conj() * T).real.sum(), (u, w), create_graph=True)
                            hu, hw = torch.autograd.grad((gu.conj() * gu).real.sum() + (gw.conj() * T).real.sum(),
                                                         (u, w))
                            return [T.detach(), gu.detach(), gw.detach(), hu, hw]

                        got, ref = grads(ops.transport), grads(plain)
                        for k, name in enumerate(("value", "link gradient", "field gradient", "second (link)",
                                                  "second (field)")):
                            self.assertClose(got[k], ref[k], 1e-12, f"SU({n}) mu {mu} dir {d} {name}, {mode}")
        with self.assertRaises((RuntimeError, ValueError)):
            ops.transport(U[:, 0:1], W, 0, 2)

    def test_bad_input_raises(self):
        with self.assertRaises((RuntimeError, ValueError)):
            ops.kernels_mode("fast")
        with self.assertRaises((RuntimeError, ValueError)):
            ops.link_update(random_field((2, 2), 2, 0), torch.zeros(1, 2, 2, 2, 2, dtype=torch.float64), 0.1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
