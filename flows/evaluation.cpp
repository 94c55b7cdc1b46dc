// Evaluation of a trained super-resolving flow (see evaluation.h).
#include "flows/evaluation.h"

#include "flows/sampler.h"
#include "lattice/rng.h"
#include "lattice/scalar_action.h"
#include "lattice/scalar_observables.h"

#include <functional>
#include <numeric>

namespace blockspin::flows {

namespace L = blockspin::lattice;

namespace {

template <class Fn>
Estimate estimate(Fn&& fn) {
  try {
    return {fn(), ""};
  } catch (const std::exception& e) {
    return {std::nullopt, e.what()};
  }
}

/// Observables of a series of configurations' measurements: m [T, chains], second-moment inputs [T, chains, 2].
PhiObservables observables(const torch::Tensor& m, const torch::Tensor& inputs, int64_t volume, int64_t extent) {
  PhiObservables o;
  o.abs_m = estimate([&] { return L::gamma_mean(m.abs()); });
  o.chi = estimate([&] { return L::gamma_susceptibility(m, volume); });
  o.binder = estimate([&] { return L::gamma_binder_cumulant(m); });
  o.xi2 = estimate([&] { return L::gamma_xi2_second_moment(inputs, extent); });
  return o;
}

}  // namespace

FlowProposals draw_flow_proposals(FlowTrainer& trainer, const FlowEvalOptions& o, bool keep_fields) {
  torch::NoGradGuard no_grad;
  const auto& opt = trainer.options;
  // Always double (also after float32 training): the proposals' log q and log p enter the Metropolis weights.
  const auto tensor_opts = torch::TensorOptions().dtype(torch::kDouble).device(opt.device);
  const auto coarse_c = trainer.coarse_couplings().detached();
  const auto fine_c = trainer.fine_couplings().detached();
  auto gen = L::make_generator(o.seed, opt.device);

  // Coarse lattice: exact HMC chains at the coarse couplings (the flow density uses log p_L = −S_L), spaced so that
  // the proposals of one chain are effectively independent (flows/coarse_proposals.h).
  CoarseProposals coarse(coarse_c, opt.coarse_extents, o.coarse, gen, tensor_opts);
  // The evaluated map: the trained RK4 step count unless eval.ode_steps overrides it (restored on return).
  struct RestoreSteps {
    RGFlow flow;
    int64_t steps;
    ~RestoreSteps() { flow->set_ode_steps(steps); }
  } restore{trainer.flow, trainer.flow->ode_steps()};
  if (o.ode_steps > 0) trainer.flow->set_ode_steps(o.ode_steps);
  std::vector<torch::Tensor> pool;  // coarse configurations waiting to be pushed through the flow
  int64_t pooled = 0, drawn = 0;
  std::vector<torch::Tensor> log_q, log_p, m, inputs, fields;
  auto flush = [&](int64_t count) {
    auto batch = torch::cat(pool).slice(0, 0, count);
    auto rest = torch::cat(pool).slice(0, count);
    pool.clear();
    pooled = rest.size(0);
    if (pooled > 0) pool.push_back(rest);
    auto fine = trainer.flow->forward(FlowState{batch, -L::scalar_action(batch, coarse_c)}, gen);
    log_q.push_back(fine.log_prob.to(torch::kCPU, torch::kDouble));
    log_p.push_back((-L::scalar_action(fine.phi, fine_c)).to(torch::kCPU, torch::kDouble));
    m.push_back(L::magnetisation(fine.phi).to(torch::kCPU, torch::kDouble));
    inputs.push_back(L::second_moment_inputs(fine.phi).to(torch::kCPU, torch::kDouble));
    if (keep_fields) fields.push_back(fine.phi.to(torch::kCPU, torch::kDouble));
    drawn += count;
  };
  while (drawn < o.n) {
    pool.push_back(coarse.next());
    pooled += o.coarse.chains;
    while (pooled >= std::min(o.batch_size, o.n - drawn) && drawn < o.n) flush(std::min(o.batch_size, o.n - drawn));
  }
  FlowProposals p;
  p.log_q = torch::cat(log_q);
  p.log_p = torch::cat(log_p);
  p.m = torch::cat(m);
  p.second_moment = torch::cat(inputs);
  if (keep_fields) p.fields = torch::cat(fields);
  p.coarse_hmc_acceptance = coarse.acceptance();
  p.coarse_stride = coarse.stride();
  p.coarse_automatic = coarse.automatic();
  p.coarse_pilot_converged = coarse.pilot_converged();
  if (coarse.automatic()) p.coarse_pilot_tau = coarse.pilot_tau();
  p.coarse_round_tau = estimate([&] { return coarse.round_tau(); });
  return p;
}

FlowEvaluation evaluate_flow_proposals(FlowTrainer& trainer, const FlowEvalOptions& o, FlowProposals p) {
  torch::NoGradGuard no_grad;
  const auto& opt = trainer.options;
  const auto tensor_opts = torch::TensorOptions().dtype(torch::kDouble).device(opt.device);  // the HMC reference
  const auto coarse_c = trainer.coarse_couplings().detached();
  const auto fine_c = trainer.fine_couplings().detached();
  const auto fine_shape = trainer.fine_extents();
  const int64_t volume = std::accumulate(fine_shape.begin(), fine_shape.end(), int64_t{1}, std::multiplies<>());
  const int64_t extent = fine_shape[0];
  auto cpu_gen = L::make_generator(o.seed + 7919, torch::kCPU);

  FlowEvaluation r;
  r.log_q = p.log_q;
  r.log_p = p.log_p;
  r.log_weights = r.log_p - r.log_q;
  r.fields = p.fields;
  if (!torch::isfinite(r.log_weights).all().item<bool>())
    throw std::runtime_error("evaluation: non-finite flow log-densities or actions (a diverged model?)");
  const auto mh = metropolis_independence(r.log_q, r.log_p, cpu_gen, p.m.abs());
  r.accepted = mh.accepted;
  r.chain = mh.chain;
  auto m_chain = p.m.index_select(0, mh.chain).unsqueeze(1);
  auto sm_chain = p.second_moment.index_select(0, mh.chain).unsqueeze(1);

  r.fine_shape = fine_shape;
  r.coarse_shape = opt.coarse_extents;
  r.ess = mh.ess_per_n;
  r.ode_steps = o.ode_steps > 0 ? o.ode_steps : trainer.flow->ode_steps();
  r.ode_steps_trained = trainer.flow->ode_steps();
  r.acceptance = mh.acceptance;
  r.reverse_kl = mh.kl;
  r.tau = mh.tau;
  r.kappa_coarse = coarse_c.kappa.item<double>();
  r.lambda_coarse = coarse_c.lambda.item<double>();
  r.kappa_fine = fine_c.kappa.item<double>();
  r.lambda_fine = fine_c.lambda.item<double>();
  r.coarse_hmc_acceptance = p.coarse_hmc_acceptance;
  r.coarse_stride = p.coarse_stride;
  r.coarse_automatic = p.coarse_automatic;
  r.coarse_pilot_converged = p.coarse_pilot_converged;
  r.coarse_pilot_tau = p.coarse_pilot_tau;
  r.coarse_round_tau = p.coarse_round_tau;
  r.flow = observables(m_chain, sm_chain, volume, extent);

  if (o.n_hmc > 0) {
    auto gen = L::make_generator(o.seed + 1, opt.device);
    std::vector<int64_t> fshape{o.hmc_chains};
    fshape.insert(fshape.end(), fine_shape.begin(), fine_shape.end());
    auto phi = torch::randn(fshape, gen, tensor_opts);
    for (int64_t i = 0; i < o.hmc_therm; ++i) phi = L::scalar_hmc_trajectory(phi, fine_c, o.hmc, gen).phi;
    const int64_t T = std::max<int64_t>(2, (o.n_hmc + o.hmc_chains - 1) / o.hmc_chains);
    std::vector<torch::Tensor> hm, hs;
    double acc = 0;
    for (int64_t i = 0; i < T; ++i) {
      auto step = L::scalar_hmc_trajectory(phi, fine_c, o.hmc, gen);
      phi = step.phi;
      acc += step.accepted.to(torch::kDouble).mean().item<double>();
      hm.push_back(L::magnetisation(phi).to(torch::kCPU, torch::kDouble));
      hs.push_back(L::second_moment_inputs(phi).to(torch::kCPU, torch::kDouble));
    }
    r.hmc = observables(torch::stack(hm), torch::stack(hs), volume, extent);
    r.hmc_measurements = T * o.hmc_chains;
    r.hmc_acceptance = acc / static_cast<double>(T);
  }
  return r;
}

FlowEvaluation evaluate_flow(FlowTrainer& trainer, const FlowEvalOptions& o, bool keep_fields) {
  return evaluate_flow_proposals(trainer, o, draw_flow_proposals(trainer, o, keep_fields));
}

}  // namespace blockspin::flows
