// φ⁴ lattice action in the hopping form, its field and coupling derivatives. Equation numbers: Bauer, Kapust,
// Pawłowski, Temmen, "Super-Resolving Normalising Flows for Lattice Field Theories", arXiv:2412.12842 (Eq. 3).
//
//   S(φ) = Σ_x [ (1 − 2λ) φ_x² + λ φ_x⁴ − 2κ Σ_{μ=0}^{D−1} φ_x φ_{x+μ} ]
//
// on a periodic lattice, φ : [batch, x_0, ..., x_{D−1}] real (layout.h), any D >= 1, float or double, any device.
// φ_{x+μ} is shift_scalar(φ, μ) for every extent: with extent 2 along μ the sum holds φ_0φ_1 twice, with extent 1 it
// holds φ_x², exactly as the circulant (momentum-space) formulas of free_scalar.h assume.
//
//   ∂S/∂φ_x = 2(1 − 2λ) φ_x + 4λ φ_x³ − 2κ Σ_μ (φ_{x+μ} + φ_{x−μ})
//   ∂S/∂κ   = −2 Σ_x Σ_μ φ_x φ_{x+μ},        ∂S/∂λ = Σ_x (φ_x⁴ − 2φ_x²)          (Eq. 35)
//
// Map to S = Σ[Σ_μ(φ_{x+μ}−φ_x)² + m²φ² + λ'φ⁴] (other flow papers): m² = (1−2λ)/κ − 2D, λ' = λ/κ² (pitfalls note).
#pragma once

#include <torch/torch.h>

namespace blockspin::lattice {

/// Couplings κ (hopping) and λ (quartic) of the hopping-form φ⁴ action. Each is a 0-dim tensor (one value for the
/// whole batch) or a 1-dim tensor [batch] (one per configuration). They may require grad: every function below that
/// uses them is written in differentiable torch ops, so gradients flow to κ and λ. They are moved to the field's
/// dtype and device on use (the conversion is differentiable), so CPU double couplings work with any field.
struct ScalarCouplings {
  torch::Tensor kappa;
  torch::Tensor lambda;

  /// Constant couplings as 0-dim double tensors (no grad).
  static ScalarCouplings constant(double kappa, double lambda);
  /// The same couplings cut from the autograd graph.
  ScalarCouplings detached() const;
};

/// Throws std::invalid_argument unless `phi` is a real floating scalar field [batch, x..] with D >= 1 and positive
/// extents. `what` names the argument in the message.
void check_scalar_field(const torch::Tensor& phi, const char* what = "scalar field");
/// Number of dimensions D of a scalar field [batch, x..].
inline int64_t scalar_n_dims(const torch::Tensor& phi) { return phi.dim() - 1; }
/// Number of sites of a scalar field.
int64_t scalar_volume(const torch::Tensor& phi);

/// A coupling broadcastable against `phi`: 0-dim, or [batch, 1, ..., 1] for a per-configuration coupling; in phi's
/// dtype and device. Throws std::invalid_argument on any other shape.
torch::Tensor broadcast_coupling(const torch::Tensor& c, const torch::Tensor& phi, const char* what = "coupling");

/// Σ_μ φ_x φ_{x+μ} at every site: [batch, x..].
torch::Tensor hopping_density(const torch::Tensor& phi);
/// Action density (1 − 2λ)φ² + λφ⁴ − 2κ Σ_μ φ_x φ_{x+μ}: [batch, x..]. Sums to scalar_action.
torch::Tensor scalar_action_density(const torch::Tensor& phi, const ScalarCouplings& c);
/// S(φ) per configuration: [batch], in phi's dtype.
torch::Tensor scalar_action(const torch::Tensor& phi, const ScalarCouplings& c);
/// ∂S/∂φ_x, analytic: [batch, x..]. The molecular-dynamics force and the Langevin drift are its negative.
torch::Tensor scalar_action_derivative(const torch::Tensor& phi, const ScalarCouplings& c);
/// ∂S/∂κ = −2 Σ_x Σ_μ φ_x φ_{x+μ}: [batch] (independent of the couplings).
torch::Tensor scalar_action_dkappa(const torch::Tensor& phi);
/// ∂S/∂λ = Σ_x (φ_x⁴ − 2φ_x²): [batch] (independent of the couplings).
torch::Tensor scalar_action_dlambda(const torch::Tensor& phi);

}  // namespace blockspin::lattice
