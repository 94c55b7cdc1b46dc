# signed relative action error (A - A_FP)/A_FP per beta_wil, from an exported TorchScript model and an fp_data.h5
import sys, h5py, torch, numpy as np
torch.set_num_threads(1)
m = torch.jit.load(sys.argv[1]); f = h5py.File(sys.argv[2], 'r')
U = torch.from_numpy(f['coarse_links'][...])
A_fp = f['action'][...]; beta = f['beta_wil'][...] if 'beta_wil' in f else f['beta'][...]
conv = f['converged'][...].astype(bool) if 'converged' in f else np.ones(len(A_fp), bool)
with torch.no_grad():
    A = torch.cat([m(U[i:i+8]) for i in range(0, len(U), 8)]).double().numpy()
r = (A - A_fp) / A_fp
for b in np.unique(beta[conv]):
    s = (beta == b) & conv
    print('beta %5.3f n %2d  mean %+.2e  sd %.2e  mean|.| %.2e' % (b, s.sum(), r[s].mean(), r[s].std(), abs(r[s]).mean()))
