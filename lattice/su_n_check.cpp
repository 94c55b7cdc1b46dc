// SU(N) membership check of gauge-field links with a message naming the offending link (see su_n_check.h).
#include "lattice/su_n_check.h"

#include "lattice/layout.h"
#include "lattice/su_n.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace blockspin::lattice {

double default_su_n_tolerance(torch::Dtype dtype) {
  return dtype == torch::kComplexFloat || dtype == torch::kFloat ? 1e-4 : 1e-10;
}

void check_su_n(const torch::Tensor& U, double tol, const char* what) {
  check_gauge_field(U, what);
  if (tol < 0.0) tol = default_su_n_tolerance(U.scalar_type());
  torch::NoGradGuard no_grad;
  auto violation = su_n_violation(U.detach()).to(torch::kCPU, torch::kDouble);  // [batch, D, x..]
  auto flat = violation.flatten();
  const auto worst_index = flat.argmax().item<int64_t>();
  const double worst = flat[worst_index].item<double>();
  if (worst <= tol && std::isfinite(worst)) return;
  // Unravel the flat index into (batch, mu, x_0, ..., x_{D-1}).
  std::vector<int64_t> coords(violation.dim());
  int64_t rest = worst_index;
  for (int64_t d = violation.dim() - 1; d >= 0; --d) {
    coords[d] = rest % violation.size(d);
    rest /= violation.size(d);
  }
  std::ostringstream msg;
  msg << what << ": link not in SU(" << n_colors(U) << ") at batch " << coords[0] << ", mu " << coords[1] << ", site (";
  for (size_t d = 2; d < coords.size(); ++d) msg << (d > 2 ? ", " : "") << coords[d];
  msg << "): max(|U^dag U - 1|, |det U - 1|) = " << worst << " > tolerance " << tol;
  throw std::invalid_argument(msg.str());
}

}  // namespace blockspin::lattice
