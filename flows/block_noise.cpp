// Zero-sum block noise with learnable σ (see block_noise.h).
#include "flows/block_noise.h"

#include "flows/upsample.h"
#include "lattice/scalar_action.h"

#include <cmath>
#include <stdexcept>

namespace blockspin::flows {

BlockNoiseImpl::BlockNoiseImpl(const BlockNoiseOptions& options) : options(options) { reset(); }

void BlockNoiseImpl::reset() {
  if (!(options.sigma() > 0)) throw std::invalid_argument("BlockNoise: sigma must be > 0");
  auto t = torch::tensor(std::log(options.sigma()), torch::TensorOptions().dtype(torch::kDouble));
  log_sigma = options.learnable() ? register_parameter("log_sigma", t) : register_buffer("log_sigma", t);
}

torch::Tensor BlockNoiseImpl::sigma() const { return log_sigma.exp(); }

void BlockNoiseImpl::set_sigma(double s) {
  if (!(s > 0)) throw std::invalid_argument("BlockNoise::set_sigma: sigma must be > 0");
  torch::NoGradGuard no_grad;
  log_sigma.fill_(std::log(s));
}

void BlockNoiseImpl::init_from_coarse(const torch::Tensor& coarse) {
  lattice::check_scalar_field(coarse, "BlockNoise::init_from_coarse");
  const double var = coarse.detach().to(torch::kDouble).var().item<double>();
  if (!(var > 0)) throw std::invalid_argument("BlockNoise::init_from_coarse: coarse samples have zero variance");
  set_sigma(std::sqrt(var));
}

torch::Tensor BlockNoiseImpl::sample(const torch::Tensor& like, at::Generator& gen) {
  lattice::check_scalar_field(like, "BlockNoise::sample");
  return from_standard_normal(torch::randn(like.sizes(), gen, like.options()));
}

torch::Tensor BlockNoiseImpl::from_standard_normal(const torch::Tensor& eta) {
  lattice::check_scalar_field(eta, "BlockNoise::from_standard_normal");
  return sigma().to(eta.options()) * block_zero_sum_part(eta);
}

torch::Tensor BlockNoiseImpl::log_prob(const torch::Tensor& zeta) {
  lattice::check_scalar_field(zeta, "BlockNoise::log_prob");
  const int64_t D = zeta.dim() - 1;
  const double n = std::pow(double(kBlockFactor), double(D));
  const double blocks = double(lattice::scalar_volume(zeta)) / n;
  auto ls = log_sigma.to(zeta.options());
  auto sq = zeta.pow(2).flatten(1).sum(1);
  return -blocks * (n - 1) * (0.5 * std::log(2 * M_PI) + ls) - 0.5 * sq * torch::exp(-2 * ls);
}

}  // namespace blockspin::flows
