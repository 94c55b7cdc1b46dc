// FpActionModel: the learned fixed-point action of the FP L-CNN papers (Holland, Ipp, Müller, Wenger,
// arXiv:2311.17816 and arXiv:2401.06481): an L-CNN body (Plaq → L-ConvBilin layers → Trace → per-site linear readout
// with one output) summed over the sites, with A[1] = 0 exact and exact gauge invariance.
//
//   prefactor "none":   A[U] = Σ_x ( r[U](x) − r[1](x) )
//   prefactor "wilson": A[U] = Σ_x s_W[U](x) · g(Σ_{k=0}^{degree} c_k r[U](x)^k),   s_W(x) = Σ_{μ<ν} (N − Re Tr
//   P_μν(x))
//   prefactor "wilson_clover": the same with s_W(x) the clover average ¼ Σ_{μ<ν} Σ_corners (N − Re Tr P) of the four
//   plaquettes with a corner at x (the same Wilson action in sum; reflection-covariant site by site, as a body on
//   reflection characters needs)
//
// with g(y) = y, or, with positive_softness τ > 0, g(y) = τ log(1 + e^{y/τ}) ≥ max(y, 0): then A ≥ 0 for every U by
// construction (s_W ≥ 0 in SU(N)), which a minimiser with the model on the right-hand side of the FP equation needs
// (an unbounded fit runs away to negative values off its training fields); g(y) − y < τ e^{−y/τ}, so where the
// local coupling y is well above τ the model is the plain one to that accuracy.
//
// r[U](x) is the body's per-site output. "none" subtracts the body evaluated on the unit configuration, run as one
// extra configuration in the same batch, so the subtraction uses the same batched kernels as every other
// configuration and A[1] = 0 holds bitwise (cost: one configuration more per forward). "wilson" vanishes on the unit
// configuration because s_W does; its coefficients c_k (parameter "coefficients", c_0 = β_init, the others 0) make
// the network a field-dependent correction of a Wilson action. Both are gauge invariant because r is (Trace of
// covariant objects) and s_W is.
//
// The body is not invariant under the lattice rotations and reflections (A_FP is): with "symmetrise" the model is the
// average Ā[U] = (1/|G|) Σ_{g∈G} A[U^g] over the reflections or the whole hypercubic group (lattice/hypercubic.h),
// exactly invariant under G; for an invariant target and an invariant ensemble its errors are the G-symmetric part of
// the plain model's, so never larger on average (a projection), at |G| times the cost.
#pragma once

#include "lcnn/factory.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace blockspin::lcnn {

struct FpActionModelOptions {
  explicit FpActionModelOptions(nlohmann::json network) : network_(std::move(network)) {}
  /// The body: a make_model spec ({"layers": [...]}) whose last layer yields one real scalar per site
  /// (trace with one channel, or linear with out = 1); no sum_sites/mean_sites (the model sums).
  TORCH_ARG(nlohmann::json, network);
  /// Space-time dimensions D.
  TORCH_ARG(int64_t, dims) = 4;
  /// "none" (subtract the unit-configuration readout) or "wilson" (Wilson action density times a polynomial).
  TORCH_ARG(std::string, prefactor) = "none";
  /// Degree of the polynomial in r for prefactor "wilson".
  TORCH_ARG(int64_t, degree) = 1;
  /// Initial c_0 for prefactor "wilson" (the Wilson β / N the model starts from).
  TORCH_ARG(double, beta_init) = 1.0;
  /// τ > 0: the polynomial passes through τ·softplus(·/τ), so A ≥ 0 for every U (prefactor "wilson"); 0: off.
  TORCH_ARG(double, positive_softness) = 0.0;
  /// "none", or A averaged over a lattice symmetry group (exactly invariant under it): "reflections" (the 2^D axis
  /// reflections, 2^D× the cost) or "hypercubic" (all D! 2^D rotations and reflections; equal extents only).
  TORCH_ARG(std::string, symmetrise) = "none";
};

class FpActionModelImpl : public torch::nn::Module {
 public:
  explicit FpActionModelImpl(const FpActionModelOptions& options);
  /// A[U] per configuration: U [B, D, x.., N, N] complex -> [B] real (U's real dtype). Differentiable in U and the
  /// parameters (twice: training on link derivatives backpropagates through D = dA/dU).
  torch::Tensor forward(const torch::Tensor& U);
  /// The body's per-site output r[U](x): [B, x..].
  torch::Tensor site_readout(const torch::Tensor& U);
  /// A[U] without the symmetrisation (the model of one group element).
  torch::Tensor unsymmetrised(const torch::Tensor& U);

  FpActionModelOptions options;
  LcnnModel body{nullptr};
  torch::Tensor coefficients;  ///< c_k for prefactor "wilson" (undefined otherwise)
};
TORCH_MODULE(FpActionModel);

/// The values of FpActionModelOptions::symmetrise: "none", "reflections", "hypercubic".
const std::vector<std::string>& symmetrise_choices();

/// Builds the model from JSON: {"network": {"layers": [...]}, "dims": 4, "prefactor": "none" | "wilson" |
/// "wilson_clover", "degree": 1, "beta_init": 1.0, "positive_softness": 0, "symmetrise": "none" | "reflections" |
/// "hypercubic"}. Unknown keys, wrong types and bodies that do not end in one scalar per site throw
/// std::invalid_argument naming the key.
FpActionModel make_fp_action_model(const nlohmann::json& spec);

}  // namespace blockspin::lcnn
