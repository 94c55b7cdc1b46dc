// Reverse-KL training with learnable couplings, IR and UV matching (see training.h).
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
#include "flows/training.h"

#include "flows/sampler.h"
#include "lattice/langevin.h"
#include "lattice/rng.h"

#include <stdexcept>

namespace blockspin::flows {

namespace {
torch::Tensor coupling(double v, bool learnable) {
  return torch::tensor(v, torch::TensorOptions().dtype(torch::kDouble)).requires_grad_(learnable);
}
}  // namespace

FlowTrainer::FlowTrainer(RGFlow flow_, const TrainerOptions& o)
    : options(o), flow(std::move(flow_)), generator(lattice::make_generator(o.seed, o.device)), lr(o.lr) {
  if (o.batch < 1) throw std::invalid_argument("FlowTrainer: batch must be >= 1");
  if (o.ode_control.check_every < 1) throw std::invalid_argument("FlowTrainer: ode_control.check_every must be >= 1");
  flow->to(o.device);
  const bool ir = o.matching == Matching::IR;
  kappa = coupling(ir ? o.kappa_coarse : o.kappa_fine, o.learn_kappa);
  lambda = coupling(ir ? o.lambda_coarse : o.lambda_fine, o.learn_lambda);
  bank = std::make_unique<SampleBank>(ir ? o.coarse_extents : fine_extents(), o.bank,
                                      torch::TensorOptions().dtype(o.dtype).device(o.device));
  make_optimizer();
}

void FlowTrainer::make_optimizer() {
  std::vector<torch::Tensor> params = flow->parameters();
  if (kappa.requires_grad()) params.push_back(kappa);
  if (lambda.requires_grad()) params.push_back(lambda);
  optimizer =
      std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(lr).betas({options.beta1, options.beta2}));
}

lattice::ScalarCouplings FlowTrainer::fine_couplings() const {
  if (options.matching == Matching::UV) return {kappa, lambda};
  return lattice::ScalarCouplings::constant(options.kappa_fine, options.lambda_fine);
}

lattice::ScalarCouplings FlowTrainer::coarse_couplings() const {
  if (options.matching == Matching::IR) return {kappa, lambda};
  return lattice::ScalarCouplings::constant(options.kappa_coarse, options.lambda_coarse);
}

std::vector<int64_t> FlowTrainer::fine_extents() const {
  auto e = options.coarse_extents;
  for (auto& x : e) x <<= flow->levels();
  return e;
}

torch::Tensor FlowTrainer::draw_coarse() {
  const auto& o = options;
  if (!coarse_batch.defined()) {
    std::vector<int64_t> shape{o.batch};
    shape.insert(shape.end(), o.coarse_extents.begin(), o.coarse_extents.end());
    coarse_batch = torch::randn(shape, generator, torch::TensorOptions().dtype(o.dtype).device(o.device));
    if (o.matching == Matching::IR) {
      coarse_batch = lattice::langevin_evolve(coarse_batch, coarse_couplings(),
                                              {o.langevin_step, o.langevin_therm, true}, generator);
    } else {
      for (int64_t i = 0; i < o.hmc_therm; ++i)
        coarse_batch = lattice::scalar_hmc_trajectory(coarse_batch, coarse_couplings(), o.hmc, generator).phi;
    }
    if (o.init_noise_from_coarse) flow->init_noise_from_coarse(coarse_batch);
  }
  if (o.matching == Matching::IR) {
    // Differentiable in the coarse couplings: the paper backpropagates through the Langevin re-thermalisation.
    auto phi = lattice::langevin_evolve(coarse_batch, coarse_couplings(), {o.langevin_step, o.langevin_steps, false},
                                        generator);
    coarse_batch = phi.detach();
    return phi;
  }
  for (int64_t i = 0; i < o.hmc_trajectories; ++i)
    coarse_batch = lattice::scalar_hmc_trajectory(coarse_batch, coarse_couplings(), o.hmc, generator).phi;
  return coarse_batch;
}

TrainMetrics FlowTrainer::step() {
  const bool ir = options.matching == Matching::IR;
  auto coarse = draw_coarse();
  auto log_p_coarse = -lattice::scalar_action(coarse, coarse_couplings());
  const FlowState start{coarse, log_p_coarse};
  std::vector<torch::Tensor> noise;
  auto fine = flow->forward(start, generator, &noise);
  TrainMetrics m;
  const auto& oc = options.ode_control;
  if (oc.tolerance > 0 && steps_done % oc.check_every == 0) {
    const int64_t before = flow->ode_steps();
    const auto e = control_ode_steps(*flow, start, noise, oc, &fine);  // fine: this step's run at the current count
    m.ode_checked = true;
    m.ode_error = e.log_prob_error;
    m.ode_at_limit = e.at_limit;
    m.ode_refined = flow->ode_steps() != before;
    m.ode_steps_before = e.initial_steps;
    m.ode_error_before = e.initial_log_prob_error;
    if (m.ode_refined) fine = flow->forward(start, noise);
  }
  m.ode_steps = flow->ode_steps();
  auto s_fine = lattice::scalar_action(fine.phi, fine_couplings());
  auto kl_terms = s_fine + fine.log_prob;  // Eq. (32) per sample
  auto loss = kl_terms.mean();
  // Eq. (33)-(36): gradient of log Z_F − log Z_L w.r.t. the learnable couplings.
  auto lz = bank->gradient(learned_couplings(), generator);
  const double sign = ir ? -1.0 : 1.0;
  auto surrogate = sign * (lz.grad[0].item<double>() * kappa + lz.grad[1].item<double>() * lambda);
  optimizer->zero_grad();
  (loss + surrogate.to(loss.dtype())).backward();
  optimizer->step();
  lr *= options.lr_decay;
  for (auto& group : optimizer->param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  ++steps_done;
  m.step = steps_done;
  m.loss = loss.item<double>();
  m.ess_per_n = effective_sample_size_fraction(-kl_terms.detach());
  m.kappa = kappa.item<double>();
  m.lambda = lambda.item<double>();
  m.bank_ess = lz.ess_per_n;
  m.bank_resampled = lz.resampled;
  m.lr = lr;
  return m;
}

void FlowTrainer::extend_uv(double lr_factor) {
  if (options.matching != Matching::UV) throw std::logic_error("FlowTrainer::extend_uv: only for UV matching");
  auto copy = std::dynamic_pointer_cast<RGLevelImpl>(flow->level(flow->levels() - 1)->clone(options.device));
  flow->append_level(RGLevel(copy));
  bank = std::make_unique<SampleBank>(fine_extents(), options.bank, bank->tensor_options);
  lr *= lr_factor;
  make_optimizer();
}

void FlowTrainer::save(torch::serialize::OutputArchive& a) const {
  a.write("levels", torch::tensor(flow->levels()));
  torch::serialize::OutputArchive fa, oa;
  flow->save(fa);
  a.write("flow", fa);
  optimizer->save(oa);
  a.write("optimizer", oa);
  a.write("kappa", kappa.detach());
  a.write("lambda", lambda.detach());
  a.write("generator", lattice::generator_state(generator));
  a.write("steps_done", torch::tensor(steps_done));
  a.write("lr", torch::tensor(lr, torch::kDouble));
  if (coarse_batch.defined()) a.write("coarse_batch", coarse_batch);
  if (bank->samples.defined()) {
    a.write("bank_samples", bank->samples);
    a.write("bank_action", bank->sampled_action);
    a.write("bank_couplings", bank->sampled_couplings);
  }
  a.write("bank_draws", torch::tensor(bank->draws));
  a.write("ode_steps", torch::tensor(flow->ode_steps()));
}

void FlowTrainer::load(torch::serialize::InputArchive& a) {
  auto get = [&a](const char* key) {
    torch::Tensor t;  // fresh each time: reading into a defined tensor would re-set its storage
    a.read(key, t);
    return t;
  };
  auto try_get = [&a](const char* key) {
    torch::Tensor t;
    return a.try_read(key, t) ? t : torch::Tensor();
  };
  while (flow->levels() < get("levels").item<int64_t>()) extend_uv(1.0);
  torch::serialize::InputArchive fa, oa;
  a.read("flow", fa);
  flow->load(fa);
  {
    torch::NoGradGuard no_grad;
    kappa.copy_(get("kappa"));
    lambda.copy_(get("lambda"));
  }
  lr = get("lr").item<double>();
  make_optimizer();
  a.read("optimizer", oa);
  optimizer->load(oa);
  lattice::set_generator_state(generator, get("generator"));
  steps_done = get("steps_done").item<int64_t>();
  if (auto t = try_get("coarse_batch"); t.defined()) coarse_batch = t.to(options.device);
  if (auto t = try_get("bank_samples"); t.defined()) {
    bank->samples = t.to(options.device);
    bank->sampled_action = get("bank_action").to(options.device);
    bank->sampled_couplings = get("bank_couplings");
  }
  bank->draws = get("bank_draws").item<int64_t>();
  if (auto t = try_get("ode_steps"); t.defined()) flow->set_ode_steps(t.item<int64_t>());  // older checkpoints: config
}

}  // namespace blockspin::flows
