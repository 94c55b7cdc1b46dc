// Plaquette + rectangle gauge actions (Wilson, Symanzik, Iwasaki, DBW2, any c1) with analytic link derivatives.
//
//   S[U] = β Σ_x [ c0 Σ_{μ<ν} (1 - Re Tr P_μν(x) / N) + c1 Σ_{μ≠ν} (1 - Re Tr R_μν(x) / N) ],   c0 = 1 - 8 c1,
//
// β = 2N/g², P_μν the plaquette, R_μν(x) the 2x1 rectangle with its long side along μ starting at x (every
// rectangle counted once). c0 + 8 c1 = 1 gives the continuum normalisation S -> (1/2g²) ∫ Σ_μν Tr F_μν² in any D.
//
// Link derivative (left derivative, the convention used throughout):
//   D_{x,μ,a} = d/dε S[U_μ(x) -> exp(iε t^a) U_μ(x)] at ε = 0,
// returned as components [batch, D, x.., N²-1] or as the traceless anti-hermitian matrix Σ_a D_a (i t^a)
// [batch, D, x.., N, N]. Analytically: D_a = -(β/N) Re Tr(i t^a U_μ(x) A_μ(x)) with A the weighted staple sum,
// i.e. the matrix form is (β/2N) [U_μ(x) A_μ(x)]_TA.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace blockspin::lattice {

/// Rectangle coefficients of the standard improved actions.
namespace c1_values {
constexpr double kWilson = 0.0;
constexpr double kSymanzik = -1.0 / 12.0;  ///< tree-level Symanzik / Lüscher–Weisz
constexpr double kIwasaki = -0.331;        ///< Iwasaki, Nucl. Phys. B258 (1985) 141
constexpr double kDBW2 = -1.4088;          ///< DBW2, Takaishi PRD 54 (1996) 1050 (quoted also as -1.4069)
}  // namespace c1_values

class GaugeAction {
 public:
  /// Plaquette + rectangle action with coupling β and rectangle coefficient c1 (c0 = 1 - 8 c1).
  GaugeAction(double beta, double c1, std::string name = "rectangle");

  static GaugeAction wilson(double beta) { return {beta, c1_values::kWilson, "wilson"}; }
  static GaugeAction symanzik(double beta) { return {beta, c1_values::kSymanzik, "symanzik"}; }
  static GaugeAction iwasaki(double beta) { return {beta, c1_values::kIwasaki, "iwasaki"}; }
  static GaugeAction dbw2(double beta) { return {beta, c1_values::kDBW2, "dbw2"}; }
  /// By name: wilson, symanzik, iwasaki, dbw2, or rectangle (then `c1` is used). Unknown names throw.
  static GaugeAction from_name(const std::string& name, double beta, double c1 = 0.0);
  /// The names accepted by from_name.
  static const std::vector<std::string>& names();

  double beta() const { return beta_; }
  double c0() const { return 1.0 - 8.0 * c1_; }
  double c1() const { return c1_; }
  const std::string& name() const { return name_; }

  /// Action per configuration: [batch] (real). Differentiable.
  torch::Tensor operator()(const torch::Tensor& U) const;
  /// Action density s(x) with Σ_x s(x) = S: [batch, x..] (real). Differentiable.
  torch::Tensor density(const torch::Tensor& U) const;

  /// Weighted staple sum A_μ(x) = c0 Σ plaquette staples + c1 Σ rectangle staples: [batch, 1, x.., N, N].
  torch::Tensor staples(const torch::Tensor& U, int64_t mu) const;
  /// Analytic link derivative as traceless anti-hermitian matrices [batch, D, x.., N, N].
  torch::Tensor derivative_matrix(const torch::Tensor& U) const;
  /// Analytic link derivative components D_{x,μ,a}: [batch, D, x.., N²-1] (real).
  torch::Tensor derivative(const torch::Tensor& U) const;

 private:
  double beta_;
  double c1_;
  std::string name_;
};

}  // namespace blockspin::lattice
