// Contrastive-divergence ∇ log Z with a reweighted HMC sample bank (see log_z_gradient.h).
#include "flows/log_z_gradient.h"

#include <algorithm>
#include <stdexcept>

namespace blockspin::flows {

namespace {

/// Per configuration: log w_i (Eq. 36), ∂S/∂κ, ∂S/∂λ at the target couplings, as CPU double [N, 3].
torch::Tensor reweighting_terms(const torch::Tensor& samples, const torch::Tensor& sampled_action,
                                const lattice::ScalarCouplings& target) {
  torch::NoGradGuard no_grad;
  auto c = target.detached();
  auto phi = samples.detach();
  auto log_w = (-lattice::scalar_action(phi, c) + sampled_action.detach().to(phi.dtype())).to(torch::kDouble);
  auto dS =
      torch::stack({lattice::scalar_action_dkappa(phi), lattice::scalar_action_dlambda(phi)}, 1).to(torch::kDouble);
  return torch::cat({log_w.unsqueeze(1), dS}, 1).cpu();
}

LogZGradient from_terms(const torch::Tensor& terms) {
  auto log_w = terms.select(1, 0);
  auto dS = terms.slice(1, 1, 3);
  auto w = (log_w - log_w.max()).exp();
  LogZGradient r;
  r.grad = -(w.unsqueeze(1) * dS).sum(0) / w.sum();
  r.ess_per_n = (w.sum().pow(2) / (w.pow(2).sum() * double(w.size(0)))).item<double>();
  return r;
}

}  // namespace

LogZGradient reweighted_log_z_gradient(const torch::Tensor& samples, const torch::Tensor& sampled_action,
                                       const lattice::ScalarCouplings& target) {
  return from_terms(reweighting_terms(samples, sampled_action, target));
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
  return sharded_log_z_gradient({this}, {&gen}, c);
}

LogZGradient sharded_log_z_gradient(const std::vector<SampleBank*>& parts, const std::vector<at::Generator*>& gens,
                                    const lattice::ScalarCouplings& c, const ShardCollectives& collectives) {
  if (parts.empty() || parts.size() != gens.size())
    throw std::invalid_argument("sharded_log_z_gradient: need one generator per bank part, and at least one part");
  auto estimate = [&] {
    std::vector<torch::Tensor> terms;
    for (auto* p : parts) terms.push_back(reweighting_terms(p->samples, p->sampled_action, c));
    return from_terms(collectives.gather(torch::cat(terms, 0)));
  };
  auto resample = [&] {
    for (size_t i = 0; i < parts.size(); ++i) parts[i]->resample(c, *gens[i]);
  };
  // Every process holds all its parts drawn or none (they are drawn together), so this decision is the same everywhere.
  bool resampled = false;
  if (std::any_of(parts.begin(), parts.end(), [](const SampleBank* p) { return !p->samples.defined(); })) {
    resample();
    resampled = true;
  }
  auto r = estimate();
  if (!resampled && r.ess_per_n < parts[0]->options.resample_ess) {
    resample();
    resampled = true;
    r = estimate();
  }
  r.resampled = resampled;
  return r;
}

}  // namespace blockspin::flows
