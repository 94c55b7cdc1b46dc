// The generic trainer (run/trainer.h): the reduce-on-plateau schedule, and a bitwise-identical --resume with AdamW and
// the plateau state after an interruption.
#include "run/trainer.h"

#include "run/metrics_log.h"

#include "lattice/rng.h"
#include "support/atomic_file.h"
#include "support/output_dir_fixture.h"

#include <gtest/gtest.h>

#include <numeric>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace blockspin::run {
namespace {

using namespace blockspin::testing;

// A linear least-squares problem: y = x·w_true + noise, model y = Linear(x).
struct Problem {
  torch::Tensor x, y;
  Problem() {
    auto g = lattice::make_generator(7);
    x = torch::randn({64, 3}, g, torch::kDouble);
    y = torch::mv(x, torch::tensor({1.0, -2.0, 0.5}, torch::kDouble)) + 0.1 * torch::randn({64}, g, torch::kDouble);
  }
};

torch::nn::Linear make_model() {
  torch::manual_seed(3);
  torch::nn::Linear m(3, 1);
  m->to(torch::kDouble);
  return m;
}

TrainerOptions options() {
  TrainerOptions o;
  o.steps = 24;
  o.batch_size = 8;
  o.lr = 0.05;
  o.lr_final = 1e-3;
  o.log_every = 2;
  o.checkpoint_every = 4;
  o.optimizer = "adamw";
  o.weight_decay = 0.01;
  o.schedule = "plateau";
  o.plateau_patience = 1;
  return o;
}

class Trainer : public OutputDir {};

// A validation loss that never improves after the first point: lr halves every (patience + 1) points, down to
// lr_final; an improving one keeps lr.
TEST_F(Trainer, PlateauScheduleReducesTheLearningRateWhenValidationStalls) {
  Problem p;
  auto model = make_model();
  auto o = options();
  o.lr_final = 0.01;
  const BatchLossFn loss = [&](const torch::Tensor& i, int64_t /*step*/) {
    return (model->forward(p.x.index_select(0, i)).squeeze(1) - p.y.index_select(0, i)).pow(2).mean();
  };
  RunDirectory run("train", {root_ / "stall", false, false}, nlohmann::json::object());
  const auto curve = train(
      *model, loss, 64, [] { return 1.0; }, o, run, "m", "stall");
  ASSERT_EQ(curve.lr.size(), 12u);
  // points 1..12: best set at 1, bad = 1 at 2, 2 > patience at 3 -> halve (applies from point 4), ...
  EXPECT_EQ(curve.lr[0], 0.05);
  EXPECT_EQ(curve.lr[3], 0.025);
  EXPECT_EQ(curve.lr[5], 0.0125);
  EXPECT_EQ(curve.lr.back(), 0.01);  // floor
  double v = 10;
  RunDirectory run2("train", {root_ / "improve", false, false}, nlohmann::json::object());
  const auto curve2 = train(
      *model, loss, 64, [&] { return v *= 0.5; }, o, run2, "m", "improve");
  for (double lr : curve2.lr) EXPECT_EQ(lr, 0.05);
}

// Interrupted after step 11 (last checkpoint at 8, a metrics line at step 10 past it) and resumed: the same parameters,
// bit for bit, as a run without interruption — the optimizer moments, the batch generator and the plateau state are all
// in the checkpoint — and the same metrics.jsonl (the line past the checkpoint dropped, not repeated).
TEST_F(Trainer, ResumeWithAdamWAndPlateauIsBitwiseIdentical) {
  Problem p;
  auto o = options();
  o.steps = 40;
  o.lr = 0.5;              // large enough to bounce around the minimum, so that
  o.plateau_patience = 0;  // stalled points halve lr: the plateau state changes during the run
  Curve last;
  std::vector<int64_t> steps_seen;  // the step numbers the loss is called with, over all runs
  auto run_to_end = [&](const std::filesystem::path& dir, bool resume, int64_t stop_after) {
    auto model = make_model();
    int64_t calls = 0;
    const BatchLossFn loss = [&](const torch::Tensor& i, int64_t step) {
      if (++calls > stop_after) throw std::runtime_error("interrupted");
      steps_seen.push_back(step);
      return (model->forward(p.x.index_select(0, i)).squeeze(1) - p.y.index_select(0, i)).pow(2).mean();
    };
    const ValidationFn val = [&] {
      torch::NoGradGuard no_grad;
      const double mse = (model->forward(p.x).squeeze(1) - p.y).pow(2).mean().item<double>();
      return Validation(mse, {{"val_rmse", std::sqrt(mse)}});
    };
    RunDirectory run("train", {dir, false, resume}, nlohmann::json::object());
    last = train(*model, loss, 64, val, o, run, "m", "resume");
    return torch::cat({model->weight.flatten(), model->bias.flatten()});
  };
  const auto reference = run_to_end(root_ / "a", false, 1000);
  std::vector<int64_t> expected(40);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(steps_seen, expected);
  steps_seen.clear();
  EXPECT_THROW(run_to_end(root_ / "b", false, 11), std::runtime_error);
  EXPECT_EQ(read_metrics(root_ / "b" / "m" / "metrics.jsonl").back()["step"], 10);
  const auto resumed = run_to_end(root_ / "b", true, 1000);
  // Steps 0..10 (the twelfth call was cut), then from the last checkpoint (step 8, every 4) on: 8, 9, 10 again,
  // ..., 39.
  expected.insert(expected.begin(), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  expected.erase(expected.begin() + 11, expected.begin() + 19);
  EXPECT_EQ(steps_seen, expected);
  EXPECT_TRUE(torch::equal(resumed, reference)) << resumed << reference;
  auto lines_a = read_metrics(root_ / "a" / "m" / "metrics.jsonl"),
       lines_b = read_metrics(root_ / "b" / "m" / "metrics.jsonl");
  ASSERT_EQ(lines_a.size(), 20u);
  ASSERT_EQ(lines_b.size(), lines_a.size());
  for (size_t k = 0; k < lines_a.size(); ++k) {
    EXPECT_EQ(lines_a[k]["step"], 2 * static_cast<int64_t>(k + 1));
    EXPECT_TRUE(lines_a[k].contains("val_rmse"));
    lines_a[k].erase("seconds");
    lines_b[k].erase("seconds");
    EXPECT_EQ(lines_a[k], lines_b[k]) << "line " << k;
  }
  EXPECT_LT(last.lr.back(), o.lr) << "the schedule never reduced lr: the test would not see the plateau state";
}

// training.steps may grow on --resume: a finished run of 20 steps continued to 40 is the 40-step run bit for bit (the
// plateau schedule does not depend on the length; 20 is a curve and checkpoint point of both), metrics.jsonl included;
// a resume with fewer steps than the checkpoint's is a config error naming the key, and leaves the run as it was.
TEST_F(Trainer, ARunCanBeExtendedOnResumeButNotShortened) {
  Problem p;
  auto o = options();
  o.lr = 0.5;
  o.plateau_patience = 0;
  auto run_to = [&](const std::filesystem::path& dir, bool resume, int64_t steps) {
    auto model = make_model();
    const BatchLossFn loss = [&](const torch::Tensor& i, int64_t) {
      return (model->forward(p.x.index_select(0, i)).squeeze(1) - p.y.index_select(0, i)).pow(2).mean();
    };
    const ValidationFn val = [&] {
      torch::NoGradGuard no_grad;
      return Validation((model->forward(p.x).squeeze(1) - p.y).pow(2).mean().item<double>(), nlohmann::json::object());
    };
    auto oo = o;
    oo.steps = steps;
    RunDirectory run("train", {dir, false, resume}, nlohmann::json::object());
    const Curve c = train(*model, loss, 64, val, oo, run, "m", "extend");
    EXPECT_EQ(c.step.back(), steps);
    return torch::cat({model->weight.flatten(), model->bias.flatten()});
  };
  const auto reference = run_to(root_ / "a", false, 40);
  const auto first = run_to(root_ / "b", false, 20);
  EXPECT_FALSE(torch::equal(first, reference));
  const auto extended = run_to(root_ / "b", true, 40);
  EXPECT_TRUE(torch::equal(extended, reference)) << extended << reference;
  auto lines_a = read_metrics(root_ / "a" / "m" / "metrics.jsonl"),
       lines_b = read_metrics(root_ / "b" / "m" / "metrics.jsonl");
  ASSERT_EQ(lines_b.size(), lines_a.size());
  for (size_t k = 0; k < lines_a.size(); ++k) {
    lines_a[k].erase("seconds");
    lines_b[k].erase("seconds");
    EXPECT_EQ(lines_a[k], lines_b[k]) << "line " << k;
  }
  const auto before = support::read_file(root_ / "b" / "m" / "checkpoint.h5");
  try {
    run_to(root_ / "b", true, 30);
    ADD_FAILURE() << "shortening a run was accepted";
  } catch (const support::ConfigError& e) {
    EXPECT_CONTAINS(std::string(e.what()), "training.steps: 30 is below step 40");
  }
  EXPECT_EQ(support::read_file(root_ / "b" / "m" / "checkpoint.h5"), before);
}

// clip_grad_norm rescales the gradients before the update: with Adam (scale-invariant but for eps = 1e-8) a norm
// clipped to 1e-14 leaves the parameters almost where they were, where unclipped steps move them by ~lr; metrics.jsonl
// logs the norm before clipping either way.
TEST_F(Trainer, GradientClippingLimitsTheUpdate) {
  Problem p;
  auto run_with = [&](double clip, const std::string& name) {
    auto model = make_model();
    const auto before = torch::cat({model->weight.flatten(), model->bias.flatten()}).detach().clone();
    auto o = options();
    o.steps = 4;
    o.schedule = "exponential";
    o.lr = o.lr_final = 0.05;
    o.weight_decay = 0;
    o.clip_grad_norm = clip;
    const BatchLossFn loss = [&](const torch::Tensor& i, int64_t /*step*/) {
      return (model->forward(p.x.index_select(0, i)).squeeze(1) - p.y.index_select(0, i)).pow(2).mean();
    };
    RunDirectory run("train", {root_ / name, false, false}, nlohmann::json::object());
    train(
        *model, loss, 64, [] { return 1.0; }, o, run, "m", name);
    const auto lines = read_metrics(root_ / name / "m" / "metrics.jsonl");
    EXPECT_GT(lines.at(0)["grad_norm"].get<double>(), 0.1) << name;  // before clipping
    return (torch::cat({model->weight.flatten(), model->bias.flatten()}) - before).abs().max().item<double>();
  };
  EXPECT_GT(run_with(0, "free"), 0.05);
  EXPECT_LT(run_with(1e-14, "clipped"), 1e-4);
}

TEST(TrainerOptionsCheck, BadOptionsNameTheKey) {
  auto o = options();
  o.optimizer = "sgd";
  EXPECT_THROW(check_trainer_options(o), std::invalid_argument);
  o = options();
  o.schedule = "cosine";
  EXPECT_THROW(check_trainer_options(o), std::invalid_argument);
  o = options();
  o.plateau_factor = 1.5;
  EXPECT_THROW(check_trainer_options(o), std::invalid_argument);
}

}  // namespace
}  // namespace blockspin::run
