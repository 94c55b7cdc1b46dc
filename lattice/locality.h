// Locality of a gauge action: how its second derivative between two links falls off with their distance (the FP
// papers' D2S(r), arXiv:2401.06481: the learned FP action's ∝ exp(−3.05 r)).
//
// With left algebra coordinates ω at every link, U_μ(x) → exp(i Σ_a ω_{x,μ,a} t^a) U_μ(x), the Hessian block between
// the source link (0, μ0) and a link (y, ν) is H_ab = ∂²A/∂ω_{0,μ0,a} ∂ω_{y,ν,b} at ω = 0. Its Frobenius norm over a, b
// is gauge invariant (gauge transformations rotate both indices by orthogonal adjoint matrices). Distances are between
// link midpoints (x + μ̂/2), periodic minimal image. The exponential (1 + X + X²/2) is exact to the second order the
// Hessian needs.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "lattice/derivatives.h"

namespace blockspin::lattice {

/// Per link (ν, y) of one configuration, in the order [D, x..]: its distance to the source link (0, mu0) and the norm
/// of the Hessian block. Costs N²−1 Hessian-vector products (double backward through `action`).
struct LocalityProfile {
  std::vector<double> distance;
  std::vector<double> norm;
};

/// The profile of `action` on the configuration U [1, D, x.., N, N] (complex) around the link (site 0, mu0).
LocalityProfile second_derivative_locality(const ActionFunctional& action, const torch::Tensor& U, int64_t mu0);

/// Least-squares fit log y = log amplitude − rate · r over the points with r >= r_min and y > 0; rate_error is the
/// standard error of the slope (residual variance); n the number of points used (rate NaN if n < 3).
struct ExponentialFit {
  double rate = 0, rate_error = 0, amplitude = 0;
  int64_t n = 0;
};
ExponentialFit fit_exponential_decay(const std::vector<double>& r, const std::vector<double>& y, double r_min);

}  // namespace blockspin::lattice
