// Multi-level super-resolving flow with exact log-density and left inverse (see rg_flow.h).
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
#include "flows/rg_flow.h"

#include "flows/upsample.h"
#include "lattice/scalar_action.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace blockspin::flows {

RGLevelImpl::RGLevelImpl(const CNFOptions& cnf, const BlockNoiseOptions& noise)
    : cnf_options(cnf), noise_options(noise) {
  reset();
}

void RGLevelImpl::reset() {
  noise = register_module("noise", BlockNoise(noise_options));
  cnf = register_module("cnf", CNF(cnf_options));
}

FlowState RGLevelImpl::forward(const FlowState& coarse, const torch::Tensor& zeta) {
  const int64_t D = coarse.phi.dim() - 1;
  auto psi = upsample(coarse.phi);
  if (!zeta.sizes().equals(psi.sizes()))
    throw std::invalid_argument("RGLevel: noise shape differs from the fine field");
  auto log_prob = coarse.log_prob + upsample_log_density_term(lattice::scalar_volume(coarse.phi), D);  // Eq. 18
  log_prob = log_prob + noise->log_prob(zeta.to(log_prob.dtype()));  // Eq. 21, in the precision of log p̃
  return cnf->forward({psi + zeta, log_prob});                       // Eq. 28
}

RGFlowImpl::RGFlowImpl(const RGFlowOptions& options) : options(options) { reset(); }

void RGFlowImpl::reset() {
  if (options.levels() < 1) throw std::invalid_argument("RGFlow: levels must be >= 1");
  level_modules.clear();
  for (int64_t i = 0; i < options.levels(); ++i)
    level_modules.push_back(register_module("level" + std::to_string(i), RGLevel(options.cnf(), options.noise())));
}

FlowState RGFlowImpl::forward(const FlowState& coarse, const std::vector<torch::Tensor>& noise) {
  lattice::check_scalar_field(coarse.phi, "RGFlow");
  if (int64_t(noise.size()) != levels()) throw std::invalid_argument("RGFlow: need one noise tensor per level");
  FlowState s = coarse;
  for (int64_t i = 0; i < levels(); ++i) s = level_modules[i]->forward(s, noise[i]);
  return s;
}

FlowState RGFlowImpl::forward(const FlowState& coarse, at::Generator& gen, std::vector<torch::Tensor>* drawn_noise) {
  lattice::check_scalar_field(coarse.phi, "RGFlow");
  if (drawn_noise != nullptr) drawn_noise->clear();
  FlowState s = coarse;
  for (int64_t i = 0; i < levels(); ++i) {
    auto zeta = level_modules[i]->noise->sample(upsample(s.phi.detach()), gen);
    if (drawn_noise != nullptr) drawn_noise->push_back(zeta);
    s = level_modules[i]->forward(s, zeta);
  }
  return s;
}

int64_t RGFlowImpl::ode_steps() const {
  return level_modules.empty() ? options.cnf().steps() : level_modules.front()->cnf->options.steps();
}

void RGFlowImpl::set_ode_steps(int64_t steps) {
  if (steps < 1) throw std::invalid_argument("RGFlow::set_ode_steps: steps must be >= 1");
  options.cnf().steps(steps);
  for (auto& l : level_modules) {
    l->cnf_options.steps(steps);
    l->cnf->options.steps(steps);
  }
}

RGInverse RGFlowImpl::inverse(const torch::Tensor& fine) {
  lattice::check_scalar_field(fine, "RGFlow::inverse");
  RGInverse r;
  r.noise.resize(levels());
  // Accumulate log p_L(φ) − log p̃(φ̃) going down, starting from log p̃ = 0.
  FlowState s{fine, torch::zeros({fine.size(0)}, fine.options())};
  for (int64_t i = levels() - 1; i >= 0; --i) {
    auto& level = level_modules[i];
    s = level->cnf->reverse(s);          // log p_N(Ψ) = log p_F(φ̃) + ∫ ∇·G dt
    auto coarse = block_average(s.phi);  // Eq. 30
    auto zeta = s.phi - upsample(coarse);
    r.noise[i] = zeta;
    const int64_t D = fine.dim() - 1;
    auto lp = s.log_prob - level->noise->log_prob(zeta.to(s.log_prob.dtype())) -
              upsample_log_density_term(lattice::scalar_volume(coarse), D);
    s = {coarse, lp};
  }
  r.coarse = s.phi;
  r.log_det = -s.log_prob;
  return r;
}

void RGFlowImpl::append_level(RGLevel level) {
  level_modules.push_back(register_module("level" + std::to_string(levels()), std::move(level)));
}

void RGFlowImpl::init_noise_from_coarse(const torch::Tensor& coarse) {
  for (auto& l : level_modules) l->noise->init_from_coarse(coarse);
}

void warm_start_levels(RGFlowImpl& target, const RGFlowImpl& source) {
  const int64_t n = source.levels();
  auto pairs = [&](int64_t i, bool buffers) {
    const auto src = source.level(std::min(i, n - 1)), dst = target.level(i);
    return std::make_pair(buffers ? src->named_buffers(true) : src->named_parameters(true),
                          buffers ? dst->named_buffers(true) : dst->named_parameters(true));
  };
  for (int64_t i = 0; i < target.levels(); ++i)  // check everything first: all or nothing
    for (bool buffers : {false, true}) {
      const auto [src, dst] = pairs(i, buffers);
      if (src.size() != dst.size())
        throw std::invalid_argument("warm_start_levels: level " + std::to_string(i) + " has " +
                                    std::to_string(dst.size()) + " tensors, the source's " +
                                    std::to_string(src.size()));
      for (const auto& d : dst) {
        const auto* s = src.find(d.key());
        if (s == nullptr || !s->sizes().equals(d.value().sizes()))
          throw std::invalid_argument(
              "warm_start_levels: '" + d.key() + "' of level " + std::to_string(i) +
              (s == nullptr ? " is not in the source" : " has another shape in the source (another architecture)"));
      }
    }
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < target.levels(); ++i)
    for (bool buffers : {false, true}) {
      auto [src, dst] = pairs(i, buffers);
      for (auto& d : dst) d.value().copy_(*src.find(d.key()));
    }
}

}  // namespace blockspin::flows
