// Discretised BPST instanton (SU(2), embedded in SU(N)) on a 4D periodic lattice, and its continuum action.
//
// Continuum field in singular gauge (decays as 1/|x|³, so the periodic images matter little for ρ << L):
//   A_μ(x) = Σ_a A^a_μ(x) t^a,   A^a_μ(x) = 2 ρ² η̄_{aμν} (x - c)_ν / ((x - c)² ((x - c)² + ρ²)),
// t^a = σ^a/2 and η̄ the anti-self-dual 't Hooft symbols (direction 3 plays the role of "4"). Its continuum action
// is 8π²/g² (|Q| = 1). Links: the path-ordered exponential along the link, U_μ(x) = Π_{k=0}^{n-1}
// exp(i h A_μ(x + (k+½) h μ̂)), h = 1/n, factors ordered left to right (midpoint rule; error O(h²) per link),
// then embedded in the upper-left 2x2 block of SU(N) (identity elsewhere). The default centre c_μ = L_μ/2 - ½ is the
// centre of a hypercube, so no link passes through the singular point; each link is an exact SU(2) product.
//
// Action convention: GaugeAction::wilson(β) gives S = β Σ_{x, μ<ν} (1 - Re Tr P_μν / N) with β = 2N/g², whose
// continuum limit is (1/2g²) ∫ Σ_{μν} Tr F_μν²; for the instanton this is 8π²/g² = 4π² β / N (the same value for the
// SU(2) field embedded in any SU(N), since 1 - Re Tr P/N = (2 - Re Tr P_2)/N). The lattice Wilson action of a
// smooth instanton is smaller, S_W ≈ (4π²β/N)(1 - (a/ρ)²/5 + ...), and also shrinks under cooling.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace blockspin::lattice {

struct InstantonOptions {
  double rho = 2.0;                ///< instanton radius in lattice units
  std::vector<double> centre{};    ///< 4 coordinates; empty: L_μ/2 - ½
  int64_t integration_points = 8;  ///< n, sub-steps of the path-ordered exponential per link
};

/// The instanton as a gauge field [1, 4, L_0..L_3, N, N] (`options` complex, e.g. kComplexDouble). Throws
/// std::invalid_argument unless extents has 4 entries >= 1, N >= 2, ρ > 0 and integration_points >= 1.
torch::Tensor bpst_instanton(const std::vector<int64_t>& extents, int64_t n_colors, const InstantonOptions& options,
                             const torch::TensorOptions& tensor_options);

/// The continuum instanton action 8π²/g² in the convention of GaugeAction (β = 2N/g²): 4π² β / N.
double bpst_continuum_action(double beta, int64_t n_colors);

}  // namespace blockspin::lattice
