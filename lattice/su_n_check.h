// Input validation for gauge fields: every link must lie in SU(N) (unitary, unit determinant) to a tolerance.
#pragma once

#include <torch/torch.h>

namespace blockspin::lattice {

/// Default tolerance of check_su_n for a complex dtype: 1e-10 for complex128, 1e-4 for complex64.
double default_su_n_tolerance(torch::Dtype dtype);

/// Throws std::invalid_argument unless `U` is a gauge field (check_gauge_field) whose links all satisfy
/// su_n_violation(U) <= tol (max of |U†U - 1|_ij and |det U - 1|). The message names the worst link as
/// (batch, mu, site x_0..x_{D-1}) and its violation. tol < 0 selects default_su_n_tolerance(U's dtype).
void check_su_n(const torch::Tensor& U, double tol = -1.0, const char* what = "gauge field");

}  // namespace blockspin::lattice
