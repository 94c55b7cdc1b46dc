// Coarse-lattice source of flow proposals with automatic spacing (see coarse_proposals.h).
#include "flows/coarse_proposals.h"

#include "lattice/scalar_observables.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace blockspin::flows {

namespace L = blockspin::lattice;

CoarseProposals::CoarseProposals(L::ScalarCouplings couplings, std::vector<int64_t> extents,
                                 const CoarseProposalOptions& options, at::Generator& gen,
                                 const torch::TensorOptions& tensor_options)
    : couplings_(couplings.detached()), options_(options), gen_(gen) {
  if (options.chains < 1) throw std::invalid_argument("CoarseProposals: chains must be >= 1");
  if (options.therm < 0) throw std::invalid_argument("CoarseProposals: therm must be >= 0");
  if (options.stride < 0) throw std::invalid_argument("CoarseProposals: stride must be >= 0 (0: automatic)");
  if (options.stride == 0 && options.pilot < 4) throw std::invalid_argument("CoarseProposals: pilot must be >= 4");
  if (!(options.stride_factor > 0)) throw std::invalid_argument("CoarseProposals: stride_factor must be > 0");
  if (extents.empty()) throw std::invalid_argument("CoarseProposals: the coarse lattice needs D >= 1");
  std::vector<int64_t> shape{options.chains};
  shape.insert(shape.end(), extents.begin(), extents.end());
  phi_ = torch::randn(shape, gen_, tensor_options);
  for (int64_t i = 0; i < options.therm; ++i) phi_ = L::scalar_hmc_trajectory(phi_, couplings_, options.hmc, gen_).phi;
  stride_ = options.stride;
  if (stride_ == 0) {
    // Pilot: at least `pilot` trajectories, extended (up to 16×) until it is 50 τ_int long, Wolff's rule of thumb
    // for a reliable window.
    std::vector<torch::Tensor> series;
    const int64_t cap = 16 * options.pilot;
    const auto needed = [&] { return static_cast<int64_t>(std::ceil(50 * pilot_tau_.tau_int)); };
    for (int64_t target = options.pilot;; target = std::min(cap, std::max(2 * target, needed()))) {
      while (static_cast<int64_t>(series.size()) < target) {
        trajectory();
        series.push_back(abs_m());
      }
      pilot_tau_ = L::gamma_mean(torch::stack(series));
      pilot_converged_ = pilot_tau_.window_found && needed() <= target;
      if (pilot_converged_ || target >= cap) break;
    }
    stride_ = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(options.stride_factor * pilot_tau_.tau_int)));
  }
}

torch::Tensor CoarseProposals::abs_m() const { return L::magnetisation(phi_).abs().to(torch::kCPU, torch::kDouble); }

void CoarseProposals::trajectory() {
  auto step = L::scalar_hmc_trajectory(phi_, couplings_, options_.hmc, gen_);
  phi_ = step.phi;
  accepted_ += step.accepted.to(torch::kDouble).sum().item<double>();
  trajectories_ += options_.chains;
}

torch::Tensor CoarseProposals::next() {
  for (int64_t i = 0; i < stride_; ++i) trajectory();
  round_abs_m_.push_back(abs_m());
  return phi_.clone();
}

L::GammaResult CoarseProposals::round_tau() const {
  if (round_abs_m_.size() < 2) throw std::invalid_argument("CoarseProposals::round_tau: needs >= 2 rounds");
  return L::gamma_mean(torch::stack(round_abs_m_));
}

double CoarseProposals::acceptance() const {
  return trajectories_ > 0 ? accepted_ / static_cast<double>(trajectories_) : 0.0;
}

}  // namespace blockspin::flows
