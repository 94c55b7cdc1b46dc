// Shared fixtures for the flows tests: double options, seeded fields, random non-zero CNF weights, brute-force
// Jacobians.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "flows/training.h"
#include "flows/vector_field.h"
#include "lattice/rng.h"

#include <cstdint>
#include <vector>

namespace blockspin::flows::testing {

inline torch::TensorOptions real() { return torch::TensorOptions().dtype(torch::kDouble); }

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

/// A random field [shape] with entries N(0, scale²) from a fresh generator seeded with `seed`.
inline torch::Tensor random_field(const std::vector<int64_t>& shape, uint64_t seed, double scale = 1.0) {
  auto gen = lattice::make_generator(seed);
  return scale * torch::randn(shape, gen, real());
}

/// Small options for fast tests: F = 3 features, D = 3 time kernels, bond dimensions 4.
inline VectorFieldOptions small_field_options(int64_t dims, int64_t kernel_size = 2) {
  return VectorFieldOptions(dims).kernel_size(kernel_size).features(3).time_kernels(3).feature_bond(4).time_bond(4);
}

/// Sets every parameter of `module` to N(0, scale²) values from `seed` (so the flow is far from the identity).
inline void randomise(torch::nn::Module& module, uint64_t seed, double scale) {
  auto gen = lattice::make_generator(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) {
    if (p.key().find("log_sigma") != std::string::npos) continue;
    p.value().copy_(scale * torch::randn(p.value().sizes(), gen, p.value().options()));
  }
}

/// FlowTrainer options for 2x2 coarse lattices with short thermalisation and a small bank (fast tests).
inline TrainerOptions tiny_trainer_options(Matching m) {
  TrainerOptions o;
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
