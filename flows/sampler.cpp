// Independence Metropolis sampler and flow-quality estimators (see sampler.h).
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
#include "flows/sampler.h"

#include <cmath>
#include <stdexcept>
#include <vector>

namespace blockspin::flows {

namespace {
torch::Tensor as_cpu_double(const torch::Tensor& t, const char* what) {
  if (!t.defined() || t.dim() != 1 || t.size(0) < 1)
    throw std::invalid_argument(std::string(what) + ": expected a non-empty 1-dim tensor");
  return t.detach().to(torch::kCPU, torch::kDouble).contiguous();
}
}  // namespace

double effective_sample_size_fraction(const torch::Tensor& log_weights) {
  auto lw = as_cpu_double(log_weights, "effective_sample_size_fraction");
  auto w = (lw - lw.max()).exp();
  return (w.sum().pow(2) / (w.pow(2).sum() * double(w.size(0)))).item<double>();
}

double reverse_kl_estimate(const torch::Tensor& log_q, const torch::Tensor& log_p) {
  return (as_cpu_double(log_q, "reverse_kl_estimate") - as_cpu_double(log_p, "reverse_kl_estimate"))
      .mean()
      .item<double>();
}

MetropolisResult metropolis_independence(const torch::Tensor& log_q, const torch::Tensor& log_p, at::Generator& gen,
                                         const torch::Tensor& observable, const lattice::GammaOptions& gamma) {
  auto lq = as_cpu_double(log_q, "metropolis_independence"), lp = as_cpu_double(log_p, "metropolis_independence");
  if (lq.size(0) != lp.size(0))
    throw std::invalid_argument("metropolis_independence: log_q and log_p differ in length");
  const int64_t N = lq.size(0);
  auto lw = lp - lq;
  auto obs = observable.defined() ? as_cpu_double(observable, "metropolis_independence observable") : lw;
  if (obs.size(0) != N) throw std::invalid_argument("metropolis_independence: observable length differs");
  auto u = torch::rand({N}, gen, torch::TensorOptions().dtype(torch::kDouble));
  const double* w = lw.data_ptr<double>();
  const double* up = u.data_ptr<double>();
  const double* o = obs.data_ptr<double>();
  MetropolisResult r;
  r.chain = torch::empty({N}, torch::kLong);
  r.accepted = torch::empty({N}, torch::kBool);
  auto* chain = r.chain.data_ptr<int64_t>();
  auto* acc = r.accepted.data_ptr<bool>();
  int64_t current = 0, n_acc = 0;
  std::vector<double> series(N);
  for (int64_t i = 0; i < N; ++i) {
    bool a = i == 0 || std::log(up[i]) < w[i] - w[current];  // Eq. (10); log u < 0 always accepts w_i >= w_c
    if (a) {
      current = i;
      if (i > 0) ++n_acc;
    }
    chain[i] = current;
    acc[i] = a;
    series[i] = o[current];
  }
  r.acceptance = N > 1 ? double(n_acc) / double(N - 1) : 1.0;
  r.ess_per_n = effective_sample_size_fraction(lw);
  r.kl = (lq - lp).mean().item<double>();
  if (N >= 2) r.tau = lattice::gamma_method(series, gamma);
  return r;
}

}  // namespace blockspin::flows
