// Discretised BPST instanton in singular gauge (see instanton.h).
#include "lattice/instanton.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <cmath>
#include <stdexcept>

namespace blockspin::lattice {

namespace {

/// Anti-self-dual 't Hooft symbols η̄_{aμν} as a real tensor [3, 4, 4] (index 3 is the "4th" direction).
torch::Tensor thooft_eta_bar() {
  auto eta = torch::zeros({3, 4, 4}, torch::kDouble);
  auto acc = eta.accessor<double, 3>();
  for (int a = 0; a < 3; ++a) {
    const int b = (a + 1) % 3, c = (a + 2) % 3;  // ε_{abc} = +1
    acc[a][b][c] = 1.0;
    acc[a][c][b] = -1.0;
    acc[a][a][3] = -1.0;
    acc[a][3][a] = 1.0;
  }
  return eta;
}

}  // namespace

torch::Tensor bpst_instanton(const std::vector<int64_t>& ext, int64_t n_colors, const InstantonOptions& options,
                             const torch::TensorOptions& tensor_options) {
  if (ext.size() != 4) throw std::invalid_argument("bpst_instanton: needs a 4D lattice");
  for (auto L : ext)
    if (L < 1) throw std::invalid_argument("bpst_instanton: extents must be >= 1");
  if (n_colors < 2) throw std::invalid_argument("bpst_instanton: needs N >= 2");
  if (!(options.rho > 0.0)) throw std::invalid_argument("bpst_instanton: rho must be > 0");
  if (options.integration_points < 1) throw std::invalid_argument("bpst_instanton: integration_points must be >= 1");
  std::vector<double> centre = options.centre;
  if (centre.empty())
    for (auto L : ext) centre.push_back(0.5 * static_cast<double>(L) - 0.5);
  if (centre.size() != 4) throw std::invalid_argument("bpst_instanton: centre needs 4 coordinates");
  torch::NoGradGuard no_grad;
  const auto cdtype = complex_dtype(tensor_options.dtype().toScalarType());
  const auto dev = tensor_options.device();
  const auto real = torch::TensorOptions().dtype(torch::kDouble).device(dev);
  // Site coordinates relative to the centre: [L0, L1, L2, L3, 4].
  std::vector<torch::Tensor> axes;
  for (int d = 0; d < 4; ++d) axes.push_back(torch::arange(ext[d], real) - centre[d]);
  auto grids = torch::meshgrid(axes, "ij");
  auto pos = torch::stack(grids, -1);
  auto eta = thooft_eta_bar().to(dev);
  const double rho2 = options.rho * options.rho;
  const int64_t n = options.integration_points;
  const double h = 1.0 / static_cast<double>(n);
  const auto cplx = torch::TensorOptions().dtype(torch::kComplexDouble).device(dev);
  std::vector<torch::Tensor> links;
  for (int64_t mu = 0; mu < 4; ++mu) {
    auto unit = torch::zeros({4}, real);
    unit[mu] = 1.0;
    torch::Tensor U;
    for (int64_t k = 0; k < n; ++k) {
      auto y = pos + (static_cast<double>(k) + 0.5) * h * unit;  // [x.., 4]
      auto y2 = y.pow(2).sum(-1, true);                          // [x.., 1]
      // A^a_μ = 2ρ² η̄_{aμν} y_ν / (y² (y² + ρ²)): components [x.., 3].
      auto comp = 2.0 * rho2 * torch::matmul(y, eta.select(1, mu).transpose(0, 1)) / (y2 * (y2 + rho2));
      auto factor = su_exp(algebra_to_matrix(-h * comp, 2));
      U = U.defined() ? mat_mul(U, factor) : factor;
    }
    links.push_back(U);
  }
  auto su2 = torch::stack(links, 0).unsqueeze(0);  // [1, 4, x.., 2, 2]
  auto shape = gauge_shape(1, ext, n_colors);
  auto out = torch::eye(n_colors, cplx).expand(shape).clone();
  out.narrow(-2, 0, 2).narrow(-1, 0, 2).copy_(su2);
  return out.to(tensor_options.dtype(cdtype));
}

double bpst_continuum_action(double beta, int64_t n_colors) {
  return 4.0 * M_PI * M_PI * beta / static_cast<double>(n_colors);
}

}  // namespace blockspin::lattice
