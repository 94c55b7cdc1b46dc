// Shared fixtures of the L-CNN tests: small non-hypercubic geometries, random configurations and gauge transformations.
#pragma once

#include "lattice/derivatives.h"
#include "lattice/gauge_field.h"
#include "lattice/layout.h"
#include "lattice/rng.h"
#include "lattice/test_helpers.h"
#include "lcnn/fp_action_model.h"
#include "test_device.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <vector>

namespace blockspin::lcnn::testing {

/// The test device (BLOCKSPIN_TEST_DEVICE, test_device.h; default cpu): every tensor and module of the L-CNN tests
/// lives there.
using ::blockspin::testing::device;
/// Complex double options on the test device.
inline torch::TensorOptions cplx() { return torch::TensorOptions().dtype(torch::kComplexDouble).device(device()); }
/// Real double options on the test device.
inline torch::TensorOptions real_options() { return torch::TensorOptions().dtype(torch::kDouble).device(device()); }
/// A module moved to the test device (modules are built, and their weights drawn, on the CPU; the move keeps the
/// weights, so every device sees the same network).
template <class M>
M on_device(M m) {
  m->to(device());
  return m;
}
using lattice::testing::Geometry;
using lattice::testing::max_abs;
using lattice::testing::max_abs_diff;
using lattice::testing::rough_field;
using lattice::testing::test_generator;

/// SU(2) and SU(3) in D = 2 and D = 4 on small non-hypercubic lattices.
inline std::vector<Geometry> lcnn_geometries() {
  return {{{4, 3}, 2}, {{4, 3}, 3}, {{3, 4, 3, 3}, 2}, {{3, 4, 3, 3}, 3}};
}

inline torch::Tensor random_omega(const Geometry& g, uint64_t seed, int64_t batch = 2) {
  auto gen = test_generator(seed);  // on the test device, like the tensors it draws
  return lattice::random_gauge_transformation(batch, g.extents, g.n_colors, gen, cplx());
}

/// A displacement with a different, non-zero shift in every direction.
inline std::vector<int64_t> displacement(int64_t dims) {
  std::vector<int64_t> d;
  for (int64_t mu = 0; mu < dims; ++mu) d.push_back(mu % 2 == 0 ? 1 + mu : -1 - mu);
  return d;
}

/// An FpActionModel spec with a small body in D dimensions: Plaq, one transporting and one local L-ConvBilin, Trace,
/// linear readout.
inline nlohmann::json small_spec(int64_t dims, const std::string& prefactor = "none", bool poly = false) {
  nlohmann::json layers = {{{"type", "plaq"}},
                           {{"type", "lconvbilin"}, {"out", 3}, {"kernel_size", 2}},
                           {{"type", "lconvbilin"}, {"out", 2}, {"kernel_size", 1}},
                           {{"type", "trace"}},
                           {{"type", "linear"}, {"out", 1}}};
  if (poly)
    layers.insert(layers.begin() + 1,
                  nlohmann::json::object({{"type", "poly"}}));  // the Polyakov loops as more input channels
  return {{"network", {{"layers", layers}}}, {"dims", dims}, {"prefactor", prefactor}, {"degree", 2}};
}

/// The link derivative of `action` at V (one configuration) by autograd against symmetric finite differences at three
/// (site, direction, colour) components.
inline void expect_derivative_matches_finite_differences(const lattice::ActionFunctional& action,
                                                         const torch::Tensor& V) {
  const auto D = lattice::autograd_derivative(action, V);
  for (auto [mu, a] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 4}, {3, 6}}) {
    const std::vector<int64_t> site{2, 1, 0, 1};
    const double fd = lattice::finite_difference_derivative(action, V, 0, mu, site, a, 1e-5);
    const double ad = D.index({0, mu, site[0], site[1], site[2], site[3], a}).item<double>();
    EXPECT_NEAR(ad, fd, 1e-7 * std::max(1.0, std::abs(fd))) << "mu " << mu << " a " << a;
  }
}

/// make_fp_action_model(spec) throws std::invalid_argument whose message contains `part` (the key or the problem).
inline void expect_fp_action_spec_error(const nlohmann::json& spec, const std::string& part) {
  try {
    make_fp_action_model(spec);
    ADD_FAILURE() << "accepted: " << spec.dump();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

/// Deterministic seeding of torch's global generator (weight initialisation).
inline void seed_weights(uint64_t seed) { torch::manual_seed(seed); }

}  // namespace blockspin::lcnn::testing
