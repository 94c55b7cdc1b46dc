// Shared fixtures of the L-CNN tests: small non-hypercubic geometries, random configurations and gauge transformations.
#pragma once

#include "lattice/gauge_field.h"
#include "lattice/layout.h"
#include "lattice/rng.h"
#include "lattice/test_helpers.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <vector>

namespace blockspin::lcnn::testing {

/// CPU options: the L-CNN tests build their modules on the CPU, so they run there (not yet device-agnostic).
inline torch::TensorOptions cplx() { return torch::TensorOptions().dtype(torch::kComplexDouble); }
using lattice::testing::Geometry;
using lattice::testing::max_abs;
using lattice::testing::max_abs_diff;
using lattice::testing::rough_field;

/// SU(2) and SU(3) in D = 2 and D = 4 on small non-hypercubic lattices.
inline std::vector<Geometry> lcnn_geometries() {
  return {{{4, 3}, 2}, {{4, 3}, 3}, {{3, 4, 3, 3}, 2}, {{3, 4, 3, 3}, 3}};
}

inline torch::Tensor random_omega(const Geometry& g, uint64_t seed, int64_t batch = 2) {
  auto gen = lattice::make_generator(seed);
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
inline nlohmann::json small_spec(int64_t dims, const std::string& prefactor = "none") {
  return {{"network",
           {{"layers",
             {{{"type", "plaq"}},
              {{"type", "lconvbilin"}, {"out", 3}, {"kernel_size", 2}},
              {{"type", "lconvbilin"}, {"out", 2}, {"kernel_size", 1}},
              {{"type", "trace"}},
              {{"type", "linear"}, {"out", 1}}}}}},
          {"dims", dims},
          {"prefactor", prefactor},
          {"degree", 2}};
}

/// Deterministic seeding of torch's global generator (weight initialisation).
inline void seed_weights(uint64_t seed) { torch::manual_seed(seed); }

}  // namespace blockspin::lcnn::testing
