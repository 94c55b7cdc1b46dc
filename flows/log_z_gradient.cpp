// Contrastive-divergence ∇ log Z with a reweighted HMC sample bank (see log_z_gradient.h).
#include "flows/log_z_gradient.h"

#include <stdexcept>

namespace blockspin::flows {

LogZGradient reweighted_log_z_gradient(const torch::Tensor& samples, const torch::Tensor& sampled_action,
                                       const lattice::ScalarCouplings& target) {
  torch::NoGradGuard no_grad;
  auto c = target.detached();
  auto phi = samples.detach();
  auto log_w = (-lattice::scalar_action(phi, c) + sampled_action.detach().to(phi.dtype())).to(torch::kDouble);
  auto w = (log_w - log_w.max()).exp();
  auto dS =
      torch::stack({lattice::scalar_action_dkappa(phi), lattice::scalar_action_dlambda(phi)}, 1).to(torch::kDouble);
  LogZGradient r;
  r.grad = -(w.unsqueeze(1) * dS).sum(0).cpu() / w.sum().cpu();
  r.ess_per_n = (w.sum().pow(2) / (w.pow(2).sum() * double(w.size(0)))).item<double>();
  return r;
}

SampleBank::SampleBank(std::vector<int64_t> extents_, const SampleBankOptions& o, torch::TensorOptions dtype)
    : extents(std::move(extents_)), options(o), tensor_options(dtype) {
  if (o.size < 1 || o.chains < 1 || o.size % o.chains != 0 || o.stride < 1 || o.therm_trajectories < 0)
    throw std::invalid_argument("SampleBank: need size a positive multiple of chains, stride >= 1, therm >= 0");
}

void SampleBank::resample(const lattice::ScalarCouplings& c0, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  auto c = c0.detached();
  std::vector<int64_t> shape{options.chains};
  shape.insert(shape.end(), extents.begin(), extents.end());
  auto phi = torch::randn(shape, gen, tensor_options);
  for (int64_t i = 0; i < options.therm_trajectories; ++i)
    phi = lattice::scalar_hmc_trajectory(phi, c, options.hmc, gen).phi;
  std::vector<torch::Tensor> kept;
  for (int64_t k = 0; k < options.size / options.chains; ++k) {
    for (int64_t i = 0; i < options.stride; ++i) phi = lattice::scalar_hmc_trajectory(phi, c, options.hmc, gen).phi;
    kept.push_back(phi);
  }
  samples = torch::cat(kept, 0);
  sampled_action = lattice::scalar_action(samples, c);
  sampled_couplings = torch::stack({c.kappa.to(torch::kDouble), c.lambda.to(torch::kDouble)}).cpu();
  ++draws;
}

LogZGradient SampleBank::gradient(const lattice::ScalarCouplings& c, at::Generator& gen) {
  bool resampled = false;
  if (!samples.defined()) {
    resample(c, gen);
    resampled = true;
  }
  auto r = reweighted_log_z_gradient(samples, sampled_action, c);
  if (!resampled && r.ess_per_n < options.resample_ess) {
    resample(c, gen);
    resampled = true;
    r = reweighted_log_z_gradient(samples, sampled_action, c);
  }
  r.resampled = resampled;
  return r;
}

}  // namespace blockspin::flows
