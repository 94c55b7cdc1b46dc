// Evaluation of a trained super-resolving flow (Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842, Sec. IV):
// coarse HMC proposals → flow → independence Metropolis → ⟨|m|⟩, χ, Binder cumulant and ξ² with Γ-method errors on
// the accepted chain, compared with direct HMC on the fine lattice.
#pragma once

#include "flows/coarse_proposals.h"
#include "flows/training.h"
#include "lattice/gamma_method.h"
#include "lattice/scalar_hmc.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace blockspin::flows {

struct FlowEvalOptions {
  int64_t n = 2000;          ///< flow proposals
  int64_t batch_size = 250;  ///< proposals pushed through the flow at once
  /// Exact HMC chains on the coarse lattice at the (learned) coarse couplings feeding the flow.
  CoarseProposalOptions coarse{};
  int64_t ode_steps = 0;    ///< RK4 steps per CNF for the evaluation; 0: the trained count
  int64_t n_hmc = 2000;     ///< direct fine-lattice HMC measurements for the comparison (0: none)
  int64_t hmc_chains = 8;   ///< chains of that HMC
  int64_t hmc_therm = 200;  ///< their thermalisation trajectories
  lattice::ScalarHmcOptions hmc{};
  uint64_t seed =
      2;  ///< generators: proposals (device) seed; Metropolis uniforms (CPU) seed + 7919; direct HMC seed + 1
};

/// A Γ-method estimate, or why there is none (a constant chain, too few measurements).
struct Estimate {
  std::optional<lattice::GammaResult> value;
  std::string error;
};

/// The φ⁴ observables of a set of configurations.
struct PhiObservables {
  Estimate abs_m, chi, binder, xi2;
};

struct FlowEvaluation {
  torch::Tensor fields;       ///< [n, x..] proposals (only with keep_fields)
  torch::Tensor accepted;     ///< [n] bool
  torch::Tensor chain;        ///< [n] int64: proposal held after step i
  torch::Tensor log_weights;  ///< [n] log p − log q
  torch::Tensor log_q, log_p;
  double ess = 0, acceptance = 0, reverse_kl = 0;
  lattice::GammaResult tau;  ///< τ_int of |m| along the accepted chain
  std::vector<int64_t> fine_shape, coarse_shape;
  int64_t ode_steps = 0, ode_steps_trained = 0;  ///< RK4 steps per CNF of the evaluated map / of the trained one
  double kappa_coarse = 0, lambda_coarse = 0, kappa_fine = 0, lambda_fine = 0;
  double coarse_hmc_acceptance = 0;
  int64_t coarse_stride = 0;
  bool coarse_automatic = false;  ///< stride chosen by the pilot
  bool coarse_pilot_converged = true;
  lattice::GammaResult coarse_pilot_tau;  ///< pilot τ_int per trajectory (automatic stride only)
  Estimate coarse_round_tau;              ///< τ_int of the coarse |m| per proposal round (1/2: independent)
  PhiObservables flow;                    ///< on the accepted chain
  std::optional<PhiObservables> hmc;      ///< direct fine HMC (n_hmc > 0)
  int64_t hmc_measurements = 0;
  double hmc_acceptance = 0;
};

/// Flow proposals with what the evaluation needs of them: per proposal log q, log p, the magnetisation and the
/// second-moment inputs (and the fields with keep_fields), plus the coarse HMC's diagnostics. Proposals drawn in
/// parts (e.g. by the ranks of a distributed run, each with its own seed) are concatenated tensor by tensor.
struct FlowProposals {
  torch::Tensor log_q, log_p;   ///< [n] double, CPU
  torch::Tensor m;              ///< [n] magnetisation
  torch::Tensor second_moment;  ///< [n, 2] second-moment inputs
  torch::Tensor fields;         ///< [n, x..] (keep_fields only)
  double coarse_hmc_acceptance = 0;
  int64_t coarse_stride = 0;
  bool coarse_automatic = false, coarse_pilot_converged = true;
  lattice::GammaResult coarse_pilot_tau;
  Estimate coarse_round_tau;
};

/// Draws o.n proposals from the flow (coarse HMC at the coarse couplings, noise, CNF) with the evaluation
/// generators seeded from o.seed, at the evaluation's RK4 step count (the trainer's is restored on return).
FlowProposals draw_flow_proposals(FlowTrainer& trainer, const FlowEvalOptions& o, bool keep_fields);

/// The independence Metropolis sampler on `proposals` (uniforms from o.seed + 7919), the observables on the accepted
/// chain, and direct HMC at the fine couplings (o.n_hmc > 0, generator seeded from o.seed + 1). Throws
/// std::runtime_error for non-finite log-densities (a diverged model).
FlowEvaluation evaluate_flow_proposals(FlowTrainer& trainer, const FlowEvalOptions& o, FlowProposals proposals);

/// Draws o.n proposals from the flow (coarse HMC at the coarse couplings, noise, CNF), runs the independence
/// Metropolis sampler and measures the observables on the accepted chain, and on direct HMC at the fine couplings
/// (o.n_hmc > 0). The trainer's RK4 step count is restored on return. Throws std::runtime_error for non-finite
/// log-densities (a diverged model).
FlowEvaluation evaluate_flow(FlowTrainer& trainer, const FlowEvalOptions& o, bool keep_fields);

}  // namespace blockspin::flows
