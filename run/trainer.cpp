// Supervised regression training: Adam, checkpoints, resume, NaN stop, metrics.
#include "run/trainer.h"

#include "io/h5io.h"
#include "run/checkpoint.h"
#include "run/metrics_log.h"
#include "run/divergence.h"
#include "run/distributed.h"
#include "support/errors.h"
#include "support/progress.h"

#include "lattice/rng.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <sstream>

namespace blockspin::run {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace blockspin::io;
using support::Progress;

template <class T>
torch::Tensor vec_tensor(const std::vector<T>& v) {
  if constexpr (std::is_same_v<T, int64_t>)
    return torch::tensor(v, torch::kLong).reshape({-1});
  else
    return torch::tensor(v, torch::kDouble).reshape({-1});
}

template <class T>
std::vector<T> tensor_vec(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

double lr_at(const TrainerOptions& o, int64_t step) {
  if (o.steps <= 1 || o.lr_final == o.lr) return o.lr;
  return o.lr * std::pow(o.lr_final / o.lr, static_cast<double>(step) / static_cast<double>(o.steps - 1));
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(torch::nn::Module& model, const TrainerOptions& o) {
  if (o.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(model.parameters(),
                                                 torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  return std::make_unique<torch::optim::Adam>(model.parameters(),
                                              torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
}

// ReduceLROnPlateau (mode min, relative threshold 1e-4): its whole state, saved with the checkpoint.
struct Plateau {
  double lr = 0, best = std::numeric_limits<double>::infinity();
  int64_t bad = 0;
  void observe(double val, const TrainerOptions& o) {
    if (val < best * (1.0 - 1e-4)) {
      best = val;
      bad = 0;
    } else if (++bad > o.plateau_patience) {
      lr = std::max(lr * o.plateau_factor, o.lr_final);
      bad = 0;
    }
  }
};

struct Snapshot {
  int64_t step = 0;
  double seconds = 0;
  Curve curve;
  Plateau plateau;
};

void save_checkpoint(const RunDirectory& run, const std::string& name, torch::nn::Module& model,
                     torch::optim::Optimizer& opt, const at::Generator& gen, const Snapshot& s) {
  torch::serialize::OutputArchive archive;
  opt.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  write_checkpoint(run, name, "training_checkpoint", [&](H5::H5File& f) {
    H5::Group params = f.createGroup("parameters");
    for (const auto& p : model.named_parameters(true)) write_tensor(params, p.key(), p.value().detach());
    params.close();
    write_blob(f, "optimizer", os.str());
    write_bytes(f, "rng_state", lattice::generator_state(gen));
    H5::Group curve = f.createGroup("curve");
    write_tensor(curve, "step", vec_tensor(s.curve.step));
    write_tensor(curve, "loss", vec_tensor(s.curve.loss));
    write_tensor(curve, "val_loss", vec_tensor(s.curve.val_loss));
    write_tensor(curve, "lr", vec_tensor(s.curve.lr));
    curve.close();
    write_attribute(f, "step", s.step);
    write_attribute(f, "seconds", s.seconds);
    write_attribute(f, "lr", s.plateau.lr);
    write_attribute(f, "plateau_best", s.plateau.best);
    write_attribute(f, "plateau_bad", s.plateau.bad);
  });
}

void load_parameters_from(torch::nn::Module& model, const H5::H5File& f, const fs::path& checkpoint) {
  H5::Group params = f.openGroup("parameters");
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters(true)) {
    if (!has_dataset(params, p.key()))
      throw support::InputError("'" + checkpoint.string() + "' has no parameter '" + p.key() +
                                "' (a different model?)");
    auto t = read_tensor(params, p.key());
    if (t.sizes() != p.value().sizes())
      throw support::InputError(fmt::format("'{}': parameter '{}' has shape [{}], the model needs [{}]",
                                            checkpoint.string(), p.key(), fmt::join(t.sizes(), ", "),
                                            fmt::join(p.value().sizes(), ", ")));
    p.value().copy_(t);
  }
}

Snapshot load_checkpoint(const RunDirectory& run, const std::string& name, torch::nn::Module& model,
                         torch::optim::Optimizer& opt, at::Generator& gen, bool plateau) {
  H5::H5File f = open_checkpoint(run, name, "training_checkpoint");
  const fs::path path = run / name;
  load_parameters_from(model, f, path);
  torch::serialize::InputArchive archive;
  try {
    std::istringstream is(read_blob(f, "optimizer"));
    archive.load_from(is);
    opt.load(archive);
  } catch (const c10::Error& e) {
    throw support::InputError(fmt::format("'{}': the optimizer state is damaged ({})", path.string(),
                                          support::abbreviate(e.what_without_backtrace(), 120)));
  }
  lattice::set_generator_state(gen, read_bytes(f, "rng_state"));
  Snapshot s;
  s.step = read_int_attribute(f, "step");
  if (s.step < 0)  // above training.steps: a config error of the caller (a run is extended, not shortened)
    throw support::InputError(fmt::format("'{}': stored step {} is negative (damaged file?)", path.string(), s.step));
  s.seconds = read_double_attribute(f, "seconds");
  if (plateau) {
    if (!has_attribute(f, "plateau_bad"))
      throw support::InputError(
          fmt::format("'{}' has no plateau-schedule state (written by an older version)", path.string()));
    s.plateau.lr = read_double_attribute(f, "lr");
    s.plateau.best = read_double_attribute(f, "plateau_best");
    s.plateau.bad = read_int_attribute(f, "plateau_bad");
  }
  H5::Group curve = f.openGroup("curve");
  s.curve.step = tensor_vec<int64_t>(read_tensor(curve, "step"));
  s.curve.loss = tensor_vec<double>(read_tensor(curve, "loss"));
  s.curve.val_loss = tensor_vec<double>(read_tensor(curve, "val_loss"));
  s.curve.lr = tensor_vec<double>(read_tensor(curve, "lr"));
  return s;
}

// The validation MSE; in a distributed run every rank predicts its share of the rows and the predictions are
// allgathered (every rank returns the same value).
double mse_of(const ForwardFn& forward, const torch::Tensor& inputs, const torch::Tensor& targets, int64_t batch,
              const torch::Device& device, torch::Dtype dtype) {
  const Communicator& comm = communicator();
  const auto [first, last] = comm.shard(inputs.size(0));
  auto p = predict(forward, inputs.slice(0, first, last), batch, device, dtype);
  if (comm.distributed()) p = comm.allgather_cat(p, 0, "the validation predictions");
  return (p - targets.to(torch::kDouble)).pow(2).mean().item<double>();
}

}  // namespace

void load_parameters(torch::nn::Module& model, const fs::path& checkpoint) {
  load_parameters_from(model, open_h5(checkpoint, "training_checkpoint"), checkpoint);
}

torch::Tensor predict(const ForwardFn& forward, const torch::Tensor& inputs, int64_t batch_size,
                      const torch::Device& device, torch::Dtype input_dtype) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < inputs.size(0); i += batch_size) {
    const auto x = inputs.slice(0, i, std::min(i + batch_size, inputs.size(0))).to(device, input_dtype);
    out.push_back(forward(x).to(torch::kCPU, torch::kDouble));
  }
  return torch::cat(out);
}

json regression_metrics(const torch::Tensor& prediction, const torch::Tensor& target,
                        const std::vector<std::string>& names) {
  auto metrics = [](const torch::Tensor& p, const torch::Tensor& y) {
    const double ss_res = (p - y).pow(2).sum().item<double>();
    const double ss_tot = (y - y.mean()).pow(2).sum().item<double>();
    return json{{"mse", ss_res / static_cast<double>(y.numel())}, {"r2", 1.0 - ss_res / ss_tot}};
  };
  const auto p = prediction.to(torch::kDouble), y = target.to(torch::kDouble);
  json j = metrics(p, y);
  for (size_t c = 0; c < names.size(); ++c) j["targets"][names[c]] = metrics(p.select(1, c), y.select(1, c));
  return j;
}

void check_trainer_options(const TrainerOptions& o) {
  auto bad = [](const std::string& what) { throw std::invalid_argument("training." + what); };
  if (o.steps < 1) bad("steps: must be >= 1");
  if (o.batch_size < 1) bad("batch_size: must be >= 1");
  if (!(o.lr > 0) || !(o.lr_final > 0)) bad("lr / lr_final: must be > 0");
  if (o.optimizer != "adam" && o.optimizer != "adamw") bad("optimizer: expected \"adam\" or \"adamw\"");
  if (o.schedule != "exponential" && o.schedule != "plateau") bad("schedule: expected \"exponential\" or \"plateau\"");
  if (!(o.plateau_factor > 0 && o.plateau_factor < 1)) bad("plateau_factor: must be in (0, 1)");
  if (o.plateau_patience < 0) bad("plateau_patience: must be >= 0");
  if (o.log_every < 1 || o.checkpoint_every < 1) bad("log_every / checkpoint_every: must be >= 1");
  if (o.accumulate < 1) bad("accumulate: must be >= 1");
  if (!(o.clip_grad_norm >= 0)) bad("clip_grad_norm: must be >= 0");
}

Curve train(torch::nn::Module& model, const BatchLossFn& batch_loss, int64_t n, const ValidationFn& validation,
            const TrainerOptions& o, const RunDirectory& run, const std::string& subdir, const std::string& label) {
  check_trainer_options(o);
  if (n < 1) throw std::invalid_argument(label + ": the training set is empty");
  if (run.writes()) fs::create_directories(run / subdir);
  const std::string ckpt = subdir + "/checkpoint.h5";
  const bool plateau = o.schedule == "plateau";
  auto opt = make_optimizer(model, o);
  auto gen = lattice::make_generator(static_cast<uint64_t>(o.seed), torch::kCPU);
  Snapshot s;
  s.plateau.lr = o.lr;
  if (run.resume_or_start(ckpt, {ckpt})) {
    s = load_checkpoint(run, ckpt, model, *opt, gen, plateau);
    if (s.step > o.steps)
      throw support::ConfigError(fmt::format(
          "training.steps: {} is below step {} of the checkpoint in '{}' (a run can be extended on --resume, "
          "not shortened)",
          o.steps, s.step, run.dir().string()));
    if (!plateau) s.plateau = Plateau{o.lr};
    if (s.step < o.steps) spdlog::info("{}: resuming at step {} of {}", label, s.step, o.steps);
  }
  if (s.step >= o.steps) return s.curve;
  MetricsLog log(run / subdir / "metrics.jsonl", s.step > 0 ? s.step : -1);
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  DivergenceGuard guard(label, run / ckpt, s.step > 0 ? s.step : -1, "Lower training.lr or check the data.");
  auto save = [&] {
    if (!run.writes()) return guard.checkpointed(s.step);  // rank 0 of a distributed run keeps the checkpoint
    Snapshot copy = s;
    copy.seconds += elapsed();
    save_checkpoint(run, ckpt, model, *opt, gen, copy);
    guard.checkpointed(s.step);
  };
  const int64_t batch = std::min(o.batch_size, n);
  // Data parallelism (run/distributed.h): every rank draws the same permutation, takes its contiguous share of the
  // batch and weights its mean loss by share / batch; the summed gradients are those of the whole batch's mean loss.
  const Communicator& comm = communicator();
  if (batch < comm.world_size())
    throw support::ConfigError(fmt::format("training.batch_size: {} rows cannot be shared by {} ranks ({} needs >= {})",
                                           batch, comm.world_size(), label, comm.world_size()));
  const auto [share_begin, share_end] = comm.shard(batch);
  {
    auto params = model.parameters();
    comm.broadcast(params, "the parameters of rank 0");
  }
  Progress progress(label, "steps", o.steps, s.step);
  double loss_sum = 0, grad_norm_sum = 0;
  int64_t loss_count = 0;
  model.train();
  while (s.step < o.steps) {
    const double lr = plateau ? s.plateau.lr : lr_at(o, s.step);
    set_lr(*opt, lr);
    const auto idx = torch::randperm(n, gen, torch::kLong).slice(0, 0, batch);
    double loss_value = 0;
    opt->zero_grad();
    if (!comm.distributed() && o.accumulate == 1) {
      const auto loss = batch_loss(idx, s.step);
      loss_value = loss.item<double>();
      guard.require_finite(loss_value, "loss", s.step + 1);
      loss.backward();
    } else {
      // This rank's share in o.accumulate micro-batches, each mean loss weighted by its rows / batch; the
      // gradients accumulate in place (one micro-batch's graph at a time).
      const int64_t share = share_end - share_begin;
      torch::Tensor local = torch::zeros({1}, torch::kDouble);
      for (int64_t m = 0, begin = share_begin; m < o.accumulate; ++m) {
        const int64_t rows = share / o.accumulate + (m < share % o.accumulate ? 1 : 0);
        if (rows == 0) continue;
        const auto loss = batch_loss(idx.slice(0, begin, begin + rows), s.step) *
                          (static_cast<double>(rows) / static_cast<double>(batch));
        loss.backward();
        local += loss.detach().reshape({1}).to(torch::kCPU, torch::kDouble);
        begin += rows;
      }
      // One message: the gradients (zeros where a parameter got none) and the loss; a NaN on any rank reaches all.
      std::vector<torch::Tensor> reduced;
      for (auto& p : model.parameters()) {
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        reduced.push_back(p.grad());
      }
      reduced.push_back(local);
      comm.allreduce_sum(reduced, "the gradients");
      loss_value = reduced.back().item<double>();
      guard.require_finite(loss_value, "loss", s.step + 1);
    }
    std::vector<torch::Tensor> grads;
    for (const auto& p : model.parameters()) grads.push_back(p.grad());
    guard.require_finite(grads, "gradient", s.step + 1);
    // The gradients' global 2-norm before clipping, for metrics.jsonl; without clipping (max norm ∞) the scale
    // factor is exactly 1.
    grad_norm_sum += torch::nn::utils::clip_grad_norm_(
        model.parameters(), o.clip_grad_norm > 0 ? o.clip_grad_norm : std::numeric_limits<double>::infinity());
    opt->step();
    ++s.step;
    loss_sum += loss_value;
    ++loss_count;
    // The progress line shows the training loss averaged since the last curve point (the current one, not the
    // last logged value again) and the latest validation loss.
    const double running_loss = loss_sum / static_cast<double>(loss_count);
    if (s.step % o.log_every == 0 || s.step == o.steps) {
      model.eval();
      const Validation v = validation();
      const double val = v.loss;
      model.train();
      guard.require_finite(val, "validation loss", s.step);
      s.curve.step.push_back(s.step);
      s.curve.loss.push_back(running_loss);
      s.curve.val_loss.push_back(val);
      s.curve.lr.push_back(lr);
      if (plateau) s.plateau.observe(val, o);
      nlohmann::json line{{"step", s.step},
                          {"loss", running_loss},
                          {"val_loss", val},
                          {"lr", lr},
                          {"grad_norm", grad_norm_sum / static_cast<double>(loss_count)},
                          {"seconds", s.seconds + elapsed()}};
      line.update(v.details);
      log.append(line);
      loss_sum = 0;
      grad_norm_sum = 0;
      loss_count = 0;
    }
    if (s.step % o.checkpoint_every == 0 || s.step == o.steps) save();
    run.crash_point(s.step);
    progress.update(s.step, s.curve.val_loss.empty()
                                ? fmt::format("loss {:.3e}, lr {:.2e}", running_loss, lr)
                                : fmt::format("loss {:.3e}, val {:.3e} (step {}), lr {:.2e}", running_loss,
                                              s.curve.val_loss.back(), s.curve.step.back(), lr));
  }
  model.eval();
  return s.curve;
}

Curve train_regression(torch::nn::Module& model, const ForwardFn& forward, const torch::Tensor& inputs,
                       const torch::Tensor& targets, const torch::Tensor& val_inputs, const torch::Tensor& val_targets,
                       const TrainerOptions& o, const torch::Device& device, torch::Dtype input_dtype,
                       const RunDirectory& run, const std::string& subdir, const std::string& label) {
  const BatchLossFn loss = [&](const torch::Tensor& idx, int64_t /*step*/) {
    const auto pred = forward(inputs.index_select(0, idx).to(device, input_dtype));
    return (pred - targets.index_select(0, idx).to(device, pred.scalar_type())).pow(2).mean();
  };
  const ValidationFn validation = [&] {
    return mse_of(forward, val_inputs, val_targets, o.eval_batch_size, device, input_dtype);
  };
  return train(model, loss, inputs.size(0), validation, o, run, subdir, label);
}

}  // namespace blockspin::run
