// LBilin: bilinear products of two sets of W objects with trainable coefficients.
#include "lcnn/lbilin.h"

#include "lcnn/common.h"
#include "lattice/matrix_ops.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace blockspin::lcnn {

LBilinImpl::LBilinImpl(const LBilinOptions& options) : options(options) { reset(); }

int64_t LBilinImpl::n_a() const {
  return options.in1() * (options.add_conjugate() ? 2 : 1) + (options.add_unit() ? 1 : 0);
}
int64_t LBilinImpl::n_b() const {
  return options.in2() * (options.add_conjugate() ? 2 : 1) + (options.add_unit() ? 1 : 0);
}

void LBilinImpl::reset() {
  if (options.in1() < 1 || options.in2() < 1 || options.out() < 1) {
    std::ostringstream msg;
    msg << "LBilin: need in1, in2, out >= 1; got " << options.in1() << ", " << options.in2() << ", " << options.out();
    throw std::invalid_argument(msg.str());
  }
  weight = register_parameter("weight", make_weight({options.out(), n_a(), n_b()},
                                                    1.0 / std::sqrt(double(n_a() * n_b())), options.complex_weights()));
}

torch::Tensor LBilinImpl::forward(const torch::Tensor& W, const torch::Tensor& Wp) {
  check_channels(W, options.in1(), "LBilin first input");
  check_channels(Wp, options.in2(), "LBilin second input");
  const bool conj = options.add_conjugate(), unit = options.add_unit();
  const int64_t out = options.out(), nA = n_a(), nB = n_b();
  const auto alpha = channel_weight(weight, options.complex_weights(), W);  // [out, nA, nB]
  auto shape = W.sizes().vec();                                             // [B, C, x.., N, N]
  if (nA <= nB) {
    // C_{i v} = Σ_w α_{i v w} B_w, then W''_i = Σ_v A_v C_{i v}; the unit part of A needs no product.
    const auto B = extend_with_conjugate_and_unit(Wp, conj, unit);
    auto C = contract_channels(alpha.reshape({out * nA, nB}), B);
    shape[1] = out;
    shape.insert(shape.begin() + 2, nA);
    C = C.reshape(shape);  // [B, out, nA, x.., N, N]
    const int64_t n_mat = unit ? nA - 1 : nA;
    const auto A = extend_with_conjugate_and_unit(W, conj, false).unsqueeze(1);  // [B, 1, n_mat, ...]
    auto res = lattice::mat_mul(A, C.narrow(2, 0, n_mat)).sum(2);
    if (unit) res = res + C.select(2, nA - 1);
    return res;
  }
  // D_{i w} = Σ_v α_{i v w} A_v, then W''_i = Σ_w D_{i w} B_w.
  const auto A = extend_with_conjugate_and_unit(W, conj, unit);
  auto Dm = contract_channels(alpha.transpose(1, 2).reshape({out * nB, nA}), A);
  shape[1] = out;
  shape.insert(shape.begin() + 2, nB);
  Dm = Dm.reshape(shape);  // [B, out, nB, x.., N, N]
  const int64_t n_mat = unit ? nB - 1 : nB;
  const auto B = extend_with_conjugate_and_unit(Wp, conj, false).unsqueeze(1);
  auto res = lattice::mat_mul(Dm.narrow(2, 0, n_mat), B).sum(2);
  if (unit) res = res + Dm.select(2, nB - 1);
  return res;
}

}  // namespace blockspin::lcnn
