// Shape helpers and periodic shifts for the layouts defined in layout.h.
#include "lattice/layout.h"

#include <sstream>
#include <stdexcept>

namespace blockspin::lattice {

std::vector<int64_t> extents(const torch::Tensor& field) {
  std::vector<int64_t> e;
  for (int64_t d = kSiteDim0; d < field.dim() - 2; ++d) e.push_back(field.size(d));
  return e;
}

int64_t volume(const torch::Tensor& field) {
  int64_t v = 1;
  for (auto e : extents(field)) v *= e;
  return v;
}

std::vector<int64_t> gauge_shape(int64_t batch, const std::vector<int64_t>& ext, int64_t n_colors) {
  std::vector<int64_t> shape{batch, static_cast<int64_t>(ext.size())};
  shape.insert(shape.end(), ext.begin(), ext.end());
  shape.push_back(n_colors);
  shape.push_back(n_colors);
  return shape;
}

torch::Tensor shift(const torch::Tensor& field, int64_t mu, int64_t k) {
  if (k == 0) return field;
  return torch::roll(field, {-k}, {kSiteDim0 + mu});
}

torch::Tensor shift_scalar(const torch::Tensor& phi, int64_t mu, int64_t k) {
  if (k == 0) return phi;
  return torch::roll(phi, {-k}, {kScalarSiteDim0 + mu});
}

void check_matrix_field(const torch::Tensor& W, const char* what) {
  std::ostringstream msg;
  if (!W.defined()) {
    msg << what << ": undefined tensor";
  } else if (!W.is_complex()) {
    msg << what << ": expected a complex tensor, got " << W.dtype();
  } else if (W.dim() < 6) {
    msg << what << ": expected shape [batch, channel, x_0..x_{D-1}, N, N] with D >= 2, got " << W.sizes();
  } else if (W.size(-1) != W.size(-2) || W.size(-1) < 2) {
    msg << what << ": expected trailing N x N matrices with N >= 2, got " << W.sizes();
  } else {
    for (int64_t d = 0; d < W.dim() - 2; ++d) {
      if (W.size(d) < 1) {
        msg << what << ": dimension " << d << " is empty in shape " << W.sizes();
        break;
      }
    }
  }
  if (!msg.str().empty()) throw std::invalid_argument(msg.str());
}

void check_gauge_field(const torch::Tensor& U, const char* what) {
  check_matrix_field(U, what);
  if (U.size(1) != n_dims(U)) {
    std::ostringstream msg;
    msg << what << ": expected shape [batch, D, x_0..x_{D-1}, N, N] with size(1) == D = " << n_dims(U) << ", got "
        << U.sizes();
    throw std::invalid_argument(msg.str());
  }
}

torch::Dtype complex_dtype(torch::Dtype real) {
  switch (real) {
    case torch::kFloat:
      return torch::kComplexFloat;
    case torch::kDouble:
      return torch::kComplexDouble;
    case torch::kComplexFloat:
    case torch::kComplexDouble:
      return real;
    default:
      throw std::invalid_argument("complex_dtype: expected float32 or float64");
  }
}

torch::Dtype real_dtype(torch::Dtype complex) {
  switch (complex) {
    case torch::kComplexFloat:
      return torch::kFloat;
    case torch::kComplexDouble:
      return torch::kDouble;
    case torch::kFloat:
    case torch::kDouble:
      return complex;
    default:
      throw std::invalid_argument("real_dtype: expected complex64 or complex128");
  }
}

std::vector<std::pair<int64_t, int64_t>> planes(int64_t n_dims) {
  std::vector<std::pair<int64_t, int64_t>> p;
  for (int64_t mu = 0; mu < n_dims; ++mu)
    for (int64_t nu = mu + 1; nu < n_dims; ++nu) p.emplace_back(mu, nu);
  return p;
}

}  // namespace blockspin::lattice
