// The SU(N) element W maximising Re Tr(W Q†) for arbitrary complex N x N matrices Q (the RG-blocking projection).
//
// SU(2): closed form. Q's projection onto the real span of SU(2), Q_s = (Q + σ_2 Q* σ_2)/2, equals √det(Q_s) times
// an SU(2) matrix, which is the maximiser (W = 1 when Q_s = 0, where every W is a maximiser).
// SU(N), N >= 3: with the SVD Q = X diag(σ) Y†, the maximiser is W = X diag(e^{iα}) Y† with real α maximising
// Σ_i σ_i cos α_i subject to Σ_i α_i = -arg det(X Y†) (mod 2π). This N-1 dimensional problem is solved by a
// safeguarded constrained Newton iteration (gradient steps where the reduced Hessian is not negative definite),
// started from the N branches α_i = (φ + 2πm)/N, m = 0..N-1 (the polar decomposition with each of the N
// determinant-phase fixes); the best end point is kept. Unlike the polar decomposition with a plain det-phase fix,
// this is the exact maximiser also when the singular values differ (e.g. rank-deficient Q), to rounding. The phase
// problem runs per matrix in plain loops on the CPU with kernels "fused" (~1000× faster than the batched torch ops
// of the "torch" path, which other devices use).
#pragma once

#include <torch/torch.h>

namespace blockspin::lattice {

/// W ∈ SU(N) maximising Re Tr(W Q†) for every matrix of Q [..., N, N] (complex). Not differentiated: the result is
/// detached (where it enters a maximum, the envelope theorem makes its derivative unnecessary).
torch::Tensor su_n_maximiser(const torch::Tensor& Q);

/// Re Tr(i t^a W Q†) for every generator: the gradient of Re Tr(W Q†) under W -> exp(iε t^a) W; zero at the
/// maximiser. [..., N²-1] (real). For tests.
torch::Tensor maximiser_gradient(const torch::Tensor& W, const torch::Tensor& Q);

}  // namespace blockspin::lattice
