// The generic trainer (run/trainer.h): the reduce-on-plateau schedule, and a bitwise-identical --resume with AdamW and
// the plateau state after an interruption.
#include "run/trainer.h"

#include "lattice/rng.h"
#include "support/output_dir_fixture.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

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
  const BatchLossFn loss = [&](const torch::Tensor& i) {
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

// Interrupted after step 9 (last checkpoint at 8) and resumed: the same parameters, bit for bit, as a run without
// interruption — the optimizer moments, the batch generator and the plateau state are all in the checkpoint.
TEST_F(Trainer, ResumeWithAdamWAndPlateauIsBitwiseIdentical) {
  Problem p;
  auto o = options();
  o.steps = 40;
  o.lr = 0.5;              // large enough to bounce around the minimum, so that
  o.plateau_patience = 0;  // stalled points halve lr: the plateau state changes during the run
  Curve last;
  auto run_to_end = [&](const std::filesystem::path& dir, bool resume, int64_t stop_after) {
    auto model = make_model();
    int64_t calls = 0;
    const BatchLossFn loss = [&](const torch::Tensor& i) {
      if (++calls > stop_after) throw std::runtime_error("interrupted");
      return (model->forward(p.x.index_select(0, i)).squeeze(1) - p.y.index_select(0, i)).pow(2).mean();
    };
    const ValidationFn val = [&] {
      torch::NoGradGuard no_grad;
      return (model->forward(p.x).squeeze(1) - p.y).pow(2).mean().item<double>();
    };
    RunDirectory run("train", {dir, false, resume}, nlohmann::json::object());
    last = train(*model, loss, 64, val, o, run, "m", "resume");
    return torch::cat({model->weight.flatten(), model->bias.flatten()});
  };
  const auto reference = run_to_end(root_ / "a", false, 1000);
  EXPECT_THROW(run_to_end(root_ / "b", false, 9), std::runtime_error);
  const auto resumed = run_to_end(root_ / "b", true, 1000);
  EXPECT_TRUE(torch::equal(resumed, reference)) << resumed << reference;
  EXPECT_LT(last.lr.back(), o.lr) << "the schedule never reduced lr: the test would not see the plateau state";
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
