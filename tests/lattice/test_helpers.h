// Shared fixtures for the lattice tests: double-precision options, seeded generators, random configurations.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lattice/abelian_flux.h"
#include "lattice/gauge_field.h"
#include "lattice/rng.h"
#include "test_device.h"

#include <vector>

namespace blockspin::lattice::testing {

/// Double-precision options on the test device (BLOCKSPIN_TEST_DEVICE, test_device.h).
inline torch::TensorOptions cplx() {
  return torch::TensorOptions().dtype(torch::kComplexDouble).device(blockspin::testing::device());
}
inline torch::TensorOptions real() {
  return torch::TensorOptions().dtype(torch::kDouble).device(blockspin::testing::device());
}
/// A generator on the test device.
inline at::Generator test_generator(uint64_t seed) { return make_generator(seed, blockspin::testing::device()); }

/// Largest absolute element-wise difference of two tensors (complex or real).
inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}
inline double max_abs(const torch::Tensor& a) { return a.abs().max().item<double>(); }
/// |a − b|_max relative to max(1, |b|_max): the kernels' comparisons with the torch path.
inline double rel(const torch::Tensor& a, const torch::Tensor& b) {
  return max_abs_diff(a, b) / std::max(1.0, max_abs(b));
}
/// <G, S> = Re Σ conj(G) S, whose gradient in S's inputs is the vector-Jacobian product with cotangent G.
inline torch::Tensor pairing(const torch::Tensor& G, const torch::Tensor& S) { return torch::real(G.conj() * S).sum(); }

/// A lattice geometry for parametrised tests.
struct Geometry {
  std::vector<int64_t> extents;
  int64_t n_colors;
};

inline std::string geometry_name(const ::testing::TestParamInfo<Geometry>& info) {
  std::string s = "SU" + std::to_string(info.param.n_colors) + "_";
  for (size_t i = 0; i < info.param.extents.size(); ++i) s += (i ? "x" : "") + std::to_string(info.param.extents[i]);
  return s;
}

/// Non-hypercubic geometries in D = 2, 3, 4 for SU(2) and SU(3), small enough for fast tests.
inline std::vector<Geometry> standard_geometries() {
  return {{{4, 6}, 2}, {{5, 4}, 3}, {{3, 4, 5}, 2}, {{4, 3, 3, 4}, 2}, {{3, 4, 3, 3}, 3}};
}

/// A rough but not Haar-random configuration: near-identity links with a sizeable spread.
inline torch::Tensor rough_field(const Geometry& g, uint64_t seed, int64_t batch = 2, double eps = 0.6) {
  auto gen = test_generator(seed);
  return near_identity_gauge_field(batch, g.extents, g.n_colors, eps, gen, cplx());
}

}  // namespace blockspin::lattice::testing
