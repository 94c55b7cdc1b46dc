// Reverse-KL training with learnable couplings, IR and UV matching (see training.h).
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
#include "flows/training.h"

#include "flows/sampler.h"
#include "lattice/langevin.h"
#include "lattice/rng.h"

#include <sstream>
#include <stdexcept>
#include <string>

namespace blockspin::flows {

namespace {
torch::Tensor coupling(double v, bool learnable) {
  return torch::tensor(v, torch::TensorOptions().dtype(torch::kDouble)).requires_grad_(learnable);
}

/// Items of shard k when n items are split into `shards` contiguous blocks (the first n % shards one more).
int64_t shard_size(int64_t n, int64_t shards, int64_t k) { return n / shards + (k < n % shards ? 1 : 0); }

std::string to_bytes(torch::serialize::OutputArchive& a) {
  std::ostringstream os;
  a.save_to(os);
  return os.str();
}

torch::Tensor bytes_tensor(const std::string& b) {
  return torch::from_blob(const_cast<char*>(b.data()), {static_cast<int64_t>(b.size())}, torch::kUInt8).clone();
}
}  // namespace

FlowTrainer::FlowTrainer(RGFlow flow_, const TrainerOptions& o) : options(o), flow(std::move(flow_)), lr(o.lr) {
  if (o.batch < 1) throw std::invalid_argument("FlowTrainer: batch must be >= 1");
  if (o.ode_control.check_every < 1) throw std::invalid_argument("FlowTrainer: ode_control.check_every must be >= 1");
  if (o.shards < 1 || o.shards > o.batch || o.shards > o.bank.chains)
    throw std::invalid_argument("FlowTrainer: shards must be in [1, min(batch, bank.chains)]");
  const int64_t last = o.last_shard < 0 ? o.shards : o.last_shard;
  if (o.first_shard < 0 || o.first_shard >= last || last > o.shards)
    throw std::invalid_argument(
        "FlowTrainer: this process's shards [first, last) must be a non-empty part of [0, shards)");
  flow->to(o.device);
  const bool ir = o.matching == Matching::IR;
  kappa = coupling(ir ? o.kappa_coarse : o.kappa_fine, o.learn_kappa);
  lambda = coupling(ir ? o.lambda_coarse : o.lambda_fine, o.learn_lambda);
  for (int64_t k = o.first_shard; k < last; ++k) {
    Shard sh;
    sh.index = k;
    sh.batch = shard_size(o.batch, o.shards, k);
    sh.generator = lattice::make_generator(lattice::stream_seed(o.seed, k), o.device);
    shards.push_back(std::move(sh));
  }
  make_banks();
  make_optimizer();
}

void FlowTrainer::make_banks() {
  const bool ir = options.matching == Matching::IR;
  const auto& b = options.bank;
  for (auto& sh : shards) {
    SampleBankOptions part = b;
    part.chains = shard_size(b.chains, options.shards, sh.index);
    part.size = part.chains * (b.size / b.chains);
    sh.bank = std::make_unique<SampleBank>(ir ? options.coarse_extents : fine_extents(), part,
                                           torch::TensorOptions().dtype(options.dtype).device(options.device));
  }
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

std::vector<torch::Tensor> FlowTrainer::draw_coarse() {
  const auto& o = options;
  if (!shards[0].coarse_batch.defined()) {  // the shards are drawn together: all or none
    std::vector<torch::Tensor> first;
    for (auto& sh : shards) {
      std::vector<int64_t> shape{sh.batch};
      shape.insert(shape.end(), o.coarse_extents.begin(), o.coarse_extents.end());
      auto phi = torch::randn(shape, sh.generator, torch::TensorOptions().dtype(o.dtype).device(o.device));
      if (o.matching == Matching::IR) {
        phi =
            lattice::langevin_evolve(phi, coarse_couplings(), {o.langevin_step, o.langevin_therm, true}, sh.generator);
      } else {
        for (int64_t i = 0; i < o.hmc_therm; ++i)
          phi = lattice::scalar_hmc_trajectory(phi, coarse_couplings(), o.hmc, sh.generator).phi;
      }
      sh.coarse_batch = phi;
      first.push_back(phi);
    }
    if (o.init_noise_from_coarse) {
      // From the whole first batch: every process sets the same noise widths.
      const auto mine = first.size() == 1 ? first[0] : torch::cat(first, 0);
      flow->init_noise_from_coarse(shards_elsewhere() ? collectives.gather(mine.detach().cpu()) : mine);
    }
  }
  std::vector<torch::Tensor> out;
  for (auto& sh : shards) {
    if (o.matching == Matching::IR) {
      // Differentiable in the coarse couplings: the paper backpropagates through the Langevin re-thermalisation.
      auto phi = lattice::langevin_evolve(sh.coarse_batch, coarse_couplings(),
                                          {o.langevin_step, o.langevin_steps, false}, sh.generator);
      sh.coarse_batch = phi.detach();
      out.push_back(phi);
    } else {
      for (int64_t i = 0; i < o.hmc_trajectories; ++i)
        sh.coarse_batch = lattice::scalar_hmc_trajectory(sh.coarse_batch, coarse_couplings(), o.hmc, sh.generator).phi;
      out.push_back(sh.coarse_batch);
    }
  }
  return out;
}

torch::Tensor FlowTrainer::backward_shards(const std::vector<FlowState>& fine) {
  auto& params = optimizer->param_groups()[0].params();
  std::vector<torch::Tensor> sums(params.size());
  std::vector<torch::Tensor> kl;
  optimizer->zero_grad();
  for (const auto& f : fine) {
    auto terms = lattice::scalar_action(f.phi, fine_couplings()) + f.log_prob;  // Eq. (32) per sample
    // The batch mean over all shards: each shard contributes its sum / batch.
    (terms.sum() / static_cast<double>(options.batch)).backward();
    for (size_t i = 0; i < params.size(); ++i) {
      auto& g = params[i].mutable_grad();
      if (!g.defined()) continue;
      sums[i] = sums[i].defined() ? sums[i] + g : g;
      g = torch::Tensor();
    }
    kl.push_back(terms.detach().cpu());
  }
  const bool spread = shards_elsewhere();
  if (spread) {
    for (size_t i = 0; i < params.size(); ++i)
      if (!sums[i].defined()) sums[i] = torch::zeros_like(params[i]);
    collectives.sum(sums);
  }
  for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = sums[i];
  auto mine = kl.size() == 1 ? kl[0] : torch::cat(kl, 0);
  return spread ? collectives.gather(mine) : mine;
}

TrainMetrics FlowTrainer::step() {
  const bool ir = options.matching == Matching::IR;
  const auto coarse = draw_coarse();
  std::vector<FlowState> starts, fine;
  std::vector<std::vector<torch::Tensor>> noise(shards.size());
  for (size_t k = 0; k < shards.size(); ++k) {
    // log p̃ is carried in double whatever the field's dtype (float32 training: flows/training.h).
    starts.push_back({coarse[k], -lattice::scalar_action(coarse[k].to(torch::kDouble), coarse_couplings())});
    fine.push_back(flow->forward(starts[k], shards[k].generator, &noise[k]));
  }
  TrainMetrics m;
  const auto& oc = options.ode_control;
  if (oc.tolerance > 0 && steps_done % oc.check_every == 0) {
    const int64_t before = flow->ode_steps();
    std::vector<OdeBatch> batches;  // with this step's runs at the current count
    for (size_t k = 0; k < shards.size(); ++k) batches.push_back({starts[k], noise[k], &fine[k]});
    const auto e = control_ode_steps(*flow, batches, oc, collectives);
    m.ode_checked = true;
    m.ode_error = e.log_prob_error;
    m.ode_at_limit = e.at_limit;
    m.ode_refined = flow->ode_steps() != before;
    m.ode_steps_before = e.initial_steps;
    m.ode_error_before = e.initial_log_prob_error;
    if (m.ode_refined)
      for (size_t k = 0; k < shards.size(); ++k) fine[k] = flow->forward(starts[k], noise[k]);
  }
  m.ode_steps = flow->ode_steps();
  const auto kl_terms = backward_shards(fine);  // every shard's, in order
  // Eq. (33)-(36): gradient of log Z_F − log Z_L w.r.t. the learnable couplings, added to the loss gradient (the
  // surrogate ±(∇ log Z)·c).
  std::vector<SampleBank*> banks;
  std::vector<at::Generator*> gens;
  for (auto& sh : shards) {
    banks.push_back(sh.bank.get());
    gens.push_back(&sh.generator);
  }
  const auto lz = sharded_log_z_gradient(banks, gens, learned_couplings(), collectives);
  const double sign = ir ? -1.0 : 1.0;
  for (auto [c, i] : {std::pair{&kappa, 0}, std::pair{&lambda, 1}}) {
    if (!c->requires_grad()) continue;
    auto& g = c->mutable_grad();
    const auto add = sign * lz.grad[i].to(c->dtype());
    g = g.defined() ? g + add : add;
  }
  optimizer->step();
  lr *= options.lr_decay;
  for (auto& group : optimizer->param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  ++steps_done;
  m.step = steps_done;
  m.loss = kl_terms.mean().item<double>();
  m.ess_per_n = effective_sample_size_fraction(-kl_terms);
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
  make_banks();
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
  a.write("steps_done", torch::tensor(steps_done));
  a.write("lr", torch::tensor(lr, torch::kDouble));
  a.write("ode_steps", torch::tensor(flow->ode_steps()));
  // Every shard's state as bytes ("shard<k>"), gathered from the processes that hold them.
  std::vector<torch::Tensor> bytes;
  std::vector<int64_t> sizes;
  for (const auto& sh : shards) {
    torch::serialize::OutputArchive sa;
    sa.write("generator", lattice::generator_state(sh.generator));
    if (sh.coarse_batch.defined()) sa.write("coarse_batch", sh.coarse_batch);
    if (sh.bank->samples.defined()) {
      sa.write("bank_samples", sh.bank->samples);
      sa.write("bank_action", sh.bank->sampled_action);
      sa.write("bank_couplings", sh.bank->sampled_couplings);
    }
    sa.write("bank_draws", torch::tensor(sh.bank->draws));
    bytes.push_back(bytes_tensor(to_bytes(sa)));
    sizes.push_back(bytes.back().numel());
  }
  auto all_bytes = torch::cat(bytes, 0), all_sizes = torch::tensor(sizes, torch::kInt64);
  if (shards_elsewhere()) {
    all_bytes = collectives.gather(all_bytes);
    all_sizes = collectives.gather(all_sizes);
  }
  a.write("shards", torch::tensor(options.shards));
  int64_t offset = 0;
  for (int64_t k = 0; k < all_sizes.size(0); ++k) {
    const int64_t n = all_sizes[k].item<int64_t>();
    a.write("shard" + std::to_string(k), all_bytes.slice(0, offset, offset + n));
    offset += n;
  }
}

void FlowTrainer::load(torch::serialize::InputArchive& a, bool shard_state) {
  auto get = [](torch::serialize::InputArchive& in, const std::string& key) {
    torch::Tensor t;  // fresh each time: reading into a defined tensor would re-set its storage
    in.read(key, t);
    return t;
  };
  auto try_get = [](torch::serialize::InputArchive& in, const std::string& key) {
    torch::Tensor t;
    return in.try_read(key, t) ? t : torch::Tensor();
  };
  while (flow->levels() < get(a, "levels").item<int64_t>()) extend_uv(1.0);
  torch::serialize::InputArchive fa, oa;
  a.read("flow", fa);
  flow->load(fa);
  {
    torch::NoGradGuard no_grad;
    kappa.copy_(get(a, "kappa"));
    lambda.copy_(get(a, "lambda"));
  }
  lr = get(a, "lr").item<double>();
  make_optimizer();
  a.read("optimizer", oa);
  optimizer->load(oa);
  steps_done = get(a, "steps_done").item<int64_t>();
  if (auto t = try_get(a, "ode_steps"); t.defined()) flow->set_ode_steps(t.item<int64_t>());  // older: the config
  if (!shard_state) return;
  auto load_shard = [&](Shard& sh, torch::serialize::InputArchive& in) {
    lattice::set_generator_state(sh.generator, get(in, "generator"));
    if (auto t = try_get(in, "coarse_batch"); t.defined()) sh.coarse_batch = t.to(options.device);
    if (auto t = try_get(in, "bank_samples"); t.defined()) {
      sh.bank->samples = t.to(options.device);
      sh.bank->sampled_action = get(in, "bank_action").to(options.device);
      sh.bank->sampled_couplings = get(in, "bank_couplings");
    }
    sh.bank->draws = get(in, "bank_draws").item<int64_t>();
  };
  const auto stored = try_get(a, "shards");
  const int64_t n = stored.defined() ? stored.item<int64_t>() : 1;  // older checkpoints: one shard, at the top level
  if (n != options.shards)
    throw std::invalid_argument("the checkpoint holds the random state of " + std::to_string(n) +
                                " shard(s) of the batch; this run has " + std::to_string(options.shards));
  if (!stored.defined()) return load_shard(shards[0], a);
  for (auto& sh : shards) {
    const auto t = get(a, "shard" + std::to_string(sh.index)).contiguous();
    std::istringstream is(std::string(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()), t.numel()));
    torch::serialize::InputArchive in;
    in.load_from(is);
    load_shard(sh, in);
  }
}

}  // namespace blockspin::flows
