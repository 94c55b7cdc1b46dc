// Supervised regression training: Adam, checkpoints, resume, NaN stop, metrics.
#include "run/trainer.h"

#include "io/h5io.h"
#include "run/checkpoint.h"
#include "run/divergence.h"
#include "support/errors.h"
#include "support/progress.h"

#include "lattice/rng.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
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

void set_lr(torch::optim::Adam& opt, double lr) {
  for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

struct Snapshot {
  int64_t step = 0;
  double seconds = 0;
  Curve curve;
};

void save_checkpoint(const RunDirectory& run, const std::string& name, torch::nn::Module& model,
                     torch::optim::Adam& opt, const at::Generator& gen, const Snapshot& s) {
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
  });
}

Snapshot load_checkpoint(const RunDirectory& run, const std::string& name, torch::nn::Module& model,
                         torch::optim::Adam& opt, at::Generator& gen, int64_t max_step) {
  H5::H5File f = open_checkpoint(run, name, "training_checkpoint");
  const fs::path path = run / name;
  load_parameters(model, path);
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
  if (s.step < 0 || s.step > max_step)
    throw support::InputError(
        fmt::format("'{}': stored step {} is outside [0, {}] (damaged file?)", path.string(), s.step, max_step));
  s.seconds = read_double_attribute(f, "seconds");
  H5::Group curve = f.openGroup("curve");
  s.curve.step = tensor_vec<int64_t>(read_tensor(curve, "step"));
  s.curve.loss = tensor_vec<double>(read_tensor(curve, "loss"));
  s.curve.val_loss = tensor_vec<double>(read_tensor(curve, "val_loss"));
  s.curve.lr = tensor_vec<double>(read_tensor(curve, "lr"));
  return s;
}

double mse_of(const ForwardFn& forward, const torch::Tensor& inputs, const torch::Tensor& targets, int64_t batch,
              const torch::Device& device, torch::Dtype dtype) {
  auto p = predict(forward, inputs, batch, device, dtype);
  return (p - targets.to(torch::kDouble)).pow(2).mean().item<double>();
}

}  // namespace

void load_parameters(torch::nn::Module& model, const fs::path& checkpoint) {
  H5::H5File f = open_h5(checkpoint, "training_checkpoint");
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

Curve train_regression(torch::nn::Module& model, const ForwardFn& forward, const torch::Tensor& inputs,
                       const torch::Tensor& targets, const torch::Tensor& val_inputs, const torch::Tensor& val_targets,
                       const TrainerOptions& o, const torch::Device& device, torch::Dtype input_dtype,
                       const RunDirectory& run, const std::string& subdir, const std::string& label) {
  fs::create_directories(run / subdir);
  const std::string ckpt = subdir + "/checkpoint.h5";
  torch::optim::Adam opt(model.parameters(), torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  auto gen = lattice::make_generator(static_cast<uint64_t>(o.seed), torch::kCPU);
  Snapshot s;
  if (run.resume_or_start(ckpt, {ckpt})) {
    s = load_checkpoint(run, ckpt, model, opt, gen, o.steps);
    if (s.step < o.steps) spdlog::info("{}: resuming at step {}", label, s.step);
  }
  if (s.step >= o.steps) return s.curve;
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  DivergenceGuard guard(label, run / ckpt, s.step > 0 ? s.step : -1, "Lower training.lr or check the data.");
  auto save = [&] {
    Snapshot copy = s;
    copy.seconds += elapsed();
    save_checkpoint(run, ckpt, model, opt, gen, copy);
    guard.checkpointed(s.step);
  };
  const int64_t n = inputs.size(0);
  const int64_t batch = std::min(o.batch_size, n);
  Progress progress(label, "steps", o.steps, s.step);
  double loss_sum = 0;
  int64_t loss_count = 0;
  model.train();
  while (s.step < o.steps) {
    const double lr = lr_at(o, s.step);
    set_lr(opt, lr);
    const auto idx = torch::randperm(n, gen, torch::kLong).slice(0, 0, batch);
    const auto x = inputs.index_select(0, idx).to(device, input_dtype);
    const auto pred = forward(x);
    const auto y = targets.index_select(0, idx).to(device, pred.scalar_type());
    const auto loss = (pred - y).pow(2).mean();
    const double loss_value = loss.item<double>();
    guard.require_finite(loss_value, "loss", s.step + 1);
    opt.zero_grad();
    loss.backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : model.parameters()) grads.push_back(p.grad());
    guard.require_finite(grads, "gradient", s.step + 1);
    opt.step();
    ++s.step;
    loss_sum += loss_value;
    ++loss_count;
    // The progress line shows the training loss averaged since the last curve point (the current one, not the
    // last logged value again) and the latest validation loss.
    const double running_loss = loss_sum / static_cast<double>(loss_count);
    if (s.step % o.log_every == 0 || s.step == o.steps) {
      model.eval();
      const double val = mse_of(forward, val_inputs, val_targets, o.eval_batch_size, device, input_dtype);
      model.train();
      guard.require_finite(val, "validation loss", s.step);
      s.curve.step.push_back(s.step);
      s.curve.loss.push_back(running_loss);
      s.curve.val_loss.push_back(val);
      s.curve.lr.push_back(lr);
      loss_sum = 0;
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

}  // namespace blockspin::run
