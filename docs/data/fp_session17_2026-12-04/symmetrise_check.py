# Test-time symmetrisation of an exported FP-action model over the hypercubic group: L2 and relative action error
# per beta_wil for the plain model and for the group-averaged one (all 384 elements, or subsets).
#   sym.py MODEL.pt FP_DATA.h5 BETAS N_PER_BETA
import itertools, sys, time
import h5py, numpy as np, torch
torch._C._set_graph_executor_optimize(False)
torch.set_num_threads(1)
model = torch.jit.load(sys.argv[1])
f = h5py.File(sys.argv[2], 'r')
betas = [float(b) for b in sys.argv[3].split(',')]
nper = int(sys.argv[4])

def gens(n=3):
    t = []
    for k in range(1, n):
        for j in range(k):
            s = torch.zeros(n, n, dtype=torch.complex128); s[j, k] = s[k, j] = 0.5; t.append(s)
            a = torch.zeros(n, n, dtype=torch.complex128); a[j, k] = -0.5j; a[k, j] = 0.5j; t.append(a)
        h = torch.zeros(n, n, dtype=torch.complex128); norm = 0.5 * (2.0 / (k * (k + 1))) ** 0.5
        for j in range(k): h[j, j] = norm
        h[k, k] = -norm * k; t.append(h)
    return torch.stack(t)
T = gens()

def dag(x): return x.transpose(-1, -2).conj()

def permute_axes(U, perm):
    D = U.dim() - 4
    U = U.index_select(1, torch.tensor(perm))
    return U.permute([0, 1] + [2 + p for p in perm] + [U.dim() - 2, U.dim() - 1])

def reflect(U, mu):
    d = 2 + mu
    fl = U.flip(d); ro = torch.roll(fl, 1, d)
    return torch.stack([dag(fl[:, nu]) if nu == mu else ro[:, nu] for nu in range(U.shape[1])], 1)

def transform(U, perm, refl):
    out = permute_axes(U, perm)
    for mu, r in enumerate(refl):
        if r: out = reflect(out, mu)
    return out.contiguous()

elements = [(p, r) for p in itertools.permutations(range(4)) for r in itertools.product([0, 1], repeat=4)]
SUBS = sys.argv[5].split(',') if len(sys.argv) > 5 else None
subsets = {'plain': [elements[0]], 'refl16': [e for e in elements if e[0] == (0, 1, 2, 3)],
           'perm24': [e for e in elements if sum(e[1]) == 0], 'all384': elements}

def action_and_derivative(U, els):
    U = U.clone().requires_grad_(True)
    A, G = 0.0, 0
    for k in range(0, len(els), 16):  # one chunk's graph at a time
        chunk = els[k:k + 16]
        batch = torch.cat([transform(U, p, r) for p, r in chunk], 0)
        a = model(batch).sum() / len(els)
        g, = torch.autograd.grad(a, U)
        A, G = A + a.item(), G + g
    A = torch.tensor(A)
    # D_a = Re Tr(i t^a U G^dag)
    M = U.detach() @ dag(G)
    D = torch.einsum('aij,...ji->...a', 1j * T, M).real
    return A.item(), D

beta = f['beta_wil'][:]; kind = f['kind'][:] if 'kind' in f else None
conv = f['converged'][:]
if SUBS: subsets = {k: v for k, v in subsets.items() if k in SUBS}
res = {}
t0 = time.time()
for b in betas:
    rows = [i for i in np.nonzero(np.isclose(beta, b))[0] if conv[i]][:nper]
    for name, els in subsets.items():
        rel, l2 = [], []
        for i in rows:
            U = torch.from_numpy(f['coarse_links'][i][None]).to(torch.complex128)
            A, D = action_and_derivative(U, els)
            Afp = f['action'][i]; Dfp = torch.from_numpy(f['derivatives'][i][None])
            rel.append(abs(Afp - A) / Afp)
            l2.append(((Dfp - D) ** 2).sum().item() / (2 * 4 * 8 * 256))
        rel, l2 = np.array(rel), np.array(l2)
        print('beta %.3g %-7s n %d  rel %.3e ± %.1e  L2 %.3e ± %.1e  (%.0f s)' % (b, name, len(rows), rel.mean(), rel.std(ddof=1) / len(rel) ** .5, l2.mean(), l2.std(ddof=1) / len(l2) ** .5, time.time() - t0), flush=True)
