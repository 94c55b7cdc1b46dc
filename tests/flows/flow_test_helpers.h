// Shared fixtures for the flows tests: double options on the test device, seeded fields, random non-zero CNF weights,
// brute-force Jacobians.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flows/training.h"
#include "flows/vector_field.h"
#include "lattice/rng.h"
#include "test_device.h"

#include <cstdint>
#include <vector>

namespace blockspin::flows::testing {

/// The test device (BLOCKSPIN_TEST_DEVICE, test_device.h; default cpu): every tensor and module of the flows tests
/// lives there.
using ::blockspin::testing::device;
/// Real double options on the test device.
inline torch::TensorOptions real() { return torch::TensorOptions().dtype(torch::kDouble).device(device()); }
/// A generator on the test device, for the library's draws of tensors that live there (noise, HMC, trainer).
inline at::Generator test_generator(uint64_t seed) { return lattice::make_generator(seed, device()); }
/// A module moved to the test device (modules are built, and their weights drawn, on the CPU; the move keeps the
/// weights, so every device sees the same network).
template <class M>
M on_device(M m) {
  m->to(device());
  return m;
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

/// A random field [shape] on the test device with entries N(0, scale²) from a fresh generator seeded with `seed`.
/// Drawn on the CPU and moved, so every device sees the same numbers: several tests' thresholds hold for these draws
/// but not for every draw (with other seeds OdeControl's h⁴ ratio window, RGFlow's 1e-10 noise inversion and the
/// sampler's τ_int < 0.65 fail), and a generator on another device would draw other numbers.
inline torch::Tensor random_field(const std::vector<int64_t>& shape, uint64_t seed, double scale = 1.0) {
  auto gen = lattice::make_generator(seed);  // CPU
  return (scale * torch::randn(shape, gen, real().device(torch::kCPU))).to(device());
}

/// Small options for fast tests: F = 3 features, D = 3 time kernels, bond dimensions 4.
inline VectorFieldOptions small_field_options(int64_t dims, int64_t kernel_size = 2) {
  return VectorFieldOptions(dims).kernel_size(kernel_size).features(3).time_kernels(3).feature_bond(4).time_bond(4);
}

/// A one- (or more-) level flow on 2D fields with the small field, 3 RK4 steps, from a fixed seed.
inline RGFlow tiny_flow(int64_t levels = 1) {
  torch::manual_seed(74);
  return on_device(RGFlow(RGFlowOptions(levels, CNFOptions(small_field_options(2)).steps(3))));
}

/// Sets every parameter of `module` to N(0, scale²) values from `seed` (so the flow is far from the identity). The
/// values are drawn on the CPU whatever the module's device (copy_ moves them), so every device sees the same network.
inline void randomise(torch::nn::Module& module, uint64_t seed, double scale) {
  auto gen = lattice::make_generator(seed);  // CPU
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) {
    if (p.key().find("log_sigma") != std::string::npos) continue;
    p.value().copy_(scale * torch::randn(p.value().sizes(), gen, p.value().options().device(torch::kCPU)));
  }
}

/// FlowTrainer options for 2x2 coarse lattices with short thermalisation and a small bank (fast tests), on the test
/// device (the trainer moves its flow there and draws with a generator there).
inline TrainerOptions tiny_trainer_options(Matching m) {
  TrainerOptions o;
  o.device = device();
  o.matching = m;
  o.coarse_extents = {2, 2};
  o.kappa_fine = o.kappa_coarse = 0.15;
  o.lambda_fine = o.lambda_coarse = 0.02;
  o.batch = 16;
  o.langevin_therm = 200;
  o.langevin_steps = 5;
  o.hmc_therm = 5;
  o.bank.size = 200;
  o.bank.chains = 20;
  o.bank.therm_trajectories = 10;
  o.seed = 73;
  return o;
}

/// Jacobian ∂y/∂x of a map R^n -> R^m (flat vectors) by m backward passes: [m, n].
template <class F>
torch::Tensor jacobian(F&& f, const torch::Tensor& x) {
  auto xv = x.detach().clone().requires_grad_(true);
  auto y = f(xv).flatten();
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < y.size(0); ++i)
    rows.push_back(torch::autograd::grad({y[i]}, {xv}, {}, /*retain_graph=*/true, false, true)[0].flatten());
  return torch::stack(rows);
}

/// Jacobian of a map applied row by row, f: [m, n] -> [m, m] with row i depending only on input row i (a batched
/// lattice map with m = n outputs per configuration): one backward pass on m copies of x. Returns [m, n].
template <class F>
torch::Tensor batched_jacobian(F&& f, const torch::Tensor& x) {
  const int64_t n = x.numel();
  auto xv = x.detach().flatten().unsqueeze(0).repeat({n, 1}).requires_grad_(true);
  auto y = f(xv);
  return torch::autograd::grad({y.diagonal().sum()}, {xv})[0];
}

}  // namespace blockspin::flows::testing
