// The CNF vector field G(Ψ, t)_x = Σ_{y∈K(x), d, f} W_{xydf} K(t)_d H(Ψ_y)_f (Eqs. 23–25) and its exact divergence.
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
//
//   H_1(φ) = φ, H_f(φ) = sin(ω_f φ), f = 2..F, learnable ω (Eq. 24; odd in φ, so G is Z2-equivariant);
//   K(t) = (1, cos 2πt, sin 2πt, cos 4πt, sin 4πt, ...), the first D Fourier terms on the integration interval [0, 1];
//   W_{xydf} = Σ_{d'f'} W̃_{o(x,y) d'f'} W^K_{d'd} W^H_{f'f} (Eq. 25), the bond (x, y) entering only through its orbit
//   o(x, y) of kernel_orbits.h (translation by 2 sites, block-preserving rotations/reflections).
// W̃ ("weight") starts at zero, so the flow starts as the identity (Sec. IV C); W^K, W^H start N(0, 1/D), N(0, 1/F)
// (times mix_init_scale) and
// ω_f = f − 1 (f = 2..F), so that the gradient with respect to W̃ does not vanish at the start.
// Only the y = x bonds depend on Ψ_x (with periodic wrap-around, every offset δ ≡ 0 mod the extents), so
//   ∇·G = Σ_x Σ_{δ≡0} Σ_f A_{p(x),δ,f}(t) H'_f(Ψ_x),   A_{p,δ,f}(t) = Σ_d W_{pδdf} K(t)_d,
// exactly, no trace estimator. Parameters are double; forward casts them to the field's dtype and device.
//
// Fused evaluation (options.fused): write x = 2X + p, x + δ = 2(X + Δ) + q with q ∈ {0,1}^D. Because W depends on x
// only through p, G on the blocked field is an ordinary periodic convolution: G_p(X) = Σ_{Δ, f, q} C_{p,(f,q),Δ}
// H_f(Ψ)_q(X + Δ) with C_{p,(f,q),Δ} = A_{p, 2Δ+q−p, f} (zero where 2Δ + q − p is not an offset). It is evaluated as
// one GEMM Z_{p,Δ} = Σ_{f,q} C_{p,(f,q),Δ} H_{f,q} and n_Δ^D shifted sums of Z (P channels each) — in place of T
// shifted copies of all F features and their products (and cheaper than an im2col convolution with P = 2^D outputs).
#pragma once

#include <torch/torch.h>

#include <utility>

#include "flows/kernel_orbits.h"

namespace blockspin::flows {

struct VectorFieldOptions {
  explicit VectorFieldOptions(int64_t dims) : dims_(dims) {}
  TORCH_ARG(int64_t, dims);
  /// K: offsets |δ_μ| <= K − 1 (K = 1 on-site only; the paper's kernel sizes 2 and 3 are read as K = 2, 3).
  TORCH_ARG(int64_t, kernel_size) = 2;
  /// F: number of basis functions (H_1 = φ plus F − 1 sines); the paper uses 11.
  TORCH_ARG(int64_t, features) = 11;
  /// D: number of Fourier time kernels; the paper uses 10.
  TORCH_ARG(int64_t, time_kernels) = 10;
  /// F', D': bond dimensions of Eq. (25); the paper uses 20 and 20.
  TORCH_ARG(int64_t, feature_bond) = 20;
  TORCH_ARG(int64_t, time_bond) = 20;
  /// Tie weights over symmetry orbits (false: one weight per bond (p, δ); still translation-by-2 invariant).
  TORCH_ARG(bool, tie_symmetry) = true;
  /// Initial scale of W^K and W^H relative to N(0, 1/D), N(0, 1/F). Adam moves every entry of W̃ by ~lr per step, and
  /// the D'·F' entries add up coherently in W, so the first steps change W by ~lr·D'F'·|W^K||W^H|; a scale s < 1
  /// slows that by s² (see the README on RK4 stiffness). 1 = the reference parametrisation.
  TORCH_ARG(double, mix_init_scale) = 1.0;
  /// Evaluate G as one convolution on the blocked field (2^D block positions as channels, see below) instead of one
  /// shifted copy of H per offset; the same G and ∇·G to rounding. false: the per-offset reference path.
  TORCH_ARG(bool, fused) = true;
};

class VectorFieldImpl : public torch::nn::Cloneable<VectorFieldImpl> {
 public:
  explicit VectorFieldImpl(const VectorFieldOptions& options);
  void reset() override;
  /// G(Ψ, t): [batch, x..]. Every extent must be even (blocks of the last upsampling).
  torch::Tensor forward(const torch::Tensor& psi, double t);
  /// ∇_Ψ · G(Ψ, t): [batch].
  torch::Tensor divergence(const torch::Tensor& psi, double t);
  /// (G, ∇·G) sharing the feature evaluation.
  std::pair<torch::Tensor, torch::Tensor> forward_and_divergence(const torch::Tensor& psi, double t);
  /// K(t): [D] in the given options.
  torch::Tensor time_kernel(double t, const torch::TensorOptions& opts) const;
  /// H(Ψ): [batch, F, x..] and H'(Ψ): [batch, F, x..].
  torch::Tensor features(const torch::Tensor& psi) const;
  torch::Tensor feature_derivatives(const torch::Tensor& psi) const;
  /// A_{p,δ,f}(t) = Σ_d W_{pδdf} K(t)_d: [P, T, F] in the options of `like`.
  torch::Tensor bond_weights(double t, const torch::Tensor& like) const;
  /// The fused evaluation's GEMM weights C from A = bond_weights: [P·n_Δ^D, F·2^D], rows (p, Δ), columns (f, q).
  torch::Tensor block_weights(const torch::Tensor& A) const;

  VectorFieldOptions options;
  KernelGeometry geometry;
  torch::Tensor omega;        ///< [F − 1]
  torch::Tensor weight;       ///< W̃: [n_orbits, D', F']
  torch::Tensor time_mix;     ///< W^K: [D', D]
  torch::Tensor feature_mix;  ///< W^H: [F', F]

 private:
  std::pair<torch::Tensor, torch::Tensor> forward_per_offset(const torch::Tensor& psi, double t);
  std::pair<torch::Tensor, torch::Tensor> forward_fused(const torch::Tensor& psi, double t);
  /// The block shifts Δ of the fused evaluation, Δ_μ ∈ [−⌊K/2⌋, ⌊K/2⌋], Δ_0 the slowest: n_Δ^D vectors.
  std::vector<std::vector<int64_t>> block_shifts_;
  /// For (p, Δ, q): p·(T + 1) + the offset index of δ = 2Δ + q − p, or of the zero row T where δ is not an offset.
  torch::Tensor block_gather_;
};
TORCH_MODULE(VectorField);

}  // namespace blockspin::flows
