// Tests of the RK4 error control (flows/ode_control.h): the step-doubling estimate against the true error of log p̃
// (reference: many more steps), its h⁴ scaling, the doubling control and its limit, and the trainer's use of it
// (refinement reported in the metrics and restored from a checkpoint).
#include "flow_test_helpers.h"

#include "flows/ode_control.h"
#include "flows/training.h"

#include <cmath>
#include <sstream>

using namespace blockspin::flows;
using namespace blockspin::flows::testing;

namespace {
/// A 2x2 -> 4x4 flow far from the identity, with a coarse batch and the noise drawn for it.
struct Setup {
  RGFlow flow{nullptr};
  FlowState coarse;
  std::vector<torch::Tensor> noise;
};

Setup make_setup(int64_t steps) {
  Setup s;
  torch::manual_seed(5);
  s.flow = RGFlow(RGFlowOptions(1, CNFOptions(small_field_options(2)).steps(steps)));
  randomise(*s.flow, 6, 0.5);  // RK4 error of log p̃ ~4e-3 at 8 steps, in the h⁴ regime
  auto phi = random_field({6, 2, 2}, 7);
  s.coarse = {phi, torch::zeros({6}, real())};
  // The noise is drawn on the CPU, with the flow still there, and moved: the h⁴ ratio window below holds for this
  // draw but not for every draw, so every device must see the same noise (and the same network).
  auto gen = blockspin::lattice::make_generator(8);  // CPU
  torch::NoGradGuard no_grad;
  s.flow->forward(FlowState{phi.cpu(), s.coarse.log_prob.cpu()}, gen, &s.noise);
  for (auto& z : s.noise) z = z.to(device());
  s.flow->to(device());
  return s;
}

/// The estimated RK4 error of log p̃ at `steps` steps (the flow is left at that count).
double log_prob_error_at(Setup& s, int64_t steps) {
  s.flow->set_ode_steps(steps);
  return estimate_ode_error(*s.flow, s.coarse, s.noise).log_prob_error;
}

/// max over the batch of |log p̃(N steps) − log p̃(reference steps)|.
double true_error(RGFlowImpl& flow, const Setup& s, int64_t steps, int64_t reference) {
  torch::NoGradGuard no_grad;
  const int64_t keep = flow.ode_steps();
  flow.set_ode_steps(steps);
  auto a = flow.forward(s.coarse, s.noise).log_prob;
  flow.set_ode_steps(reference);
  auto b = flow.forward(s.coarse, s.noise).log_prob;
  flow.set_ode_steps(keep);
  return (a - b).abs().max().item<double>();
}
}  // namespace

TEST(OdeControl, StepDoublingEstimateMatchesTheTrueErrorAndScalesAsH4) {
  auto s = make_setup(8);
  const auto e8 = estimate_ode_error(*s.flow, s.coarse, s.noise);
  EXPECT_EQ(e8.steps, 8);
  EXPECT_EQ(s.flow->ode_steps(), 8);  // restored after the estimate
  const double t8 = true_error(*s.flow, s, 8, 512);
  ASSERT_GT(t8, 1e-6) << "the randomised flow must be far enough from the identity to have an RK4 error";
  EXPECT_NEAR(e8.log_prob_error, t8, 0.1 * t8);
  EXPECT_GT(e8.field_error, 0.0);
  s.flow->set_ode_steps(16);
  const auto e16 = estimate_ode_error(*s.flow, s.coarse, s.noise);
  const double ratio = e8.log_prob_error / e16.log_prob_error;
  EXPECT_GT(ratio, 12.0);  // 2⁴ = 16 for RK4
  EXPECT_LT(ratio, 20.0);
}

TEST(OdeControl, DoublesTheStepsUntilTheToleranceOrTheLimit) {
  auto s = make_setup(4);
  const double e8 = log_prob_error_at(s, 8), e16 = log_prob_error_at(s, 16);
  ASSERT_LT(e16, e8);
  OdeControlOptions o;
  o.tolerance = std::sqrt(e8 * e16);  // between the two: 4 -> 8 -> 16
  s.flow->set_ode_steps(4);
  auto e = control_ode_steps(*s.flow, s.coarse, s.noise, o);
  EXPECT_EQ(s.flow->ode_steps(), 16);
  EXPECT_EQ(e.steps, 16);
  EXPECT_LE(e.log_prob_error, o.tolerance);
  EXPECT_FALSE(e.at_limit);
  EXPECT_EQ(e.initial_steps, 4);
  EXPECT_GT(e.initial_log_prob_error, e8);
  // The limit: stops at 8 and says so.
  o.max_steps = 8;
  s.flow->set_ode_steps(4);
  e = control_ode_steps(*s.flow, s.coarse, s.noise, o);
  EXPECT_EQ(s.flow->ode_steps(), 8);
  EXPECT_TRUE(e.at_limit);
  // Disabled: estimates only.
  o.tolerance = 0;
  s.flow->set_ode_steps(4);
  e = control_ode_steps(*s.flow, s.coarse, s.noise, o);
  EXPECT_EQ(s.flow->ode_steps(), 4);
  EXPECT_GT(e.log_prob_error, e8);
}

TEST(OdeControl, TrainerRefinesReportsAndCheckpointsTheStepCount) {
  auto o = tiny_trainer_options(Matching::IR);
  o.ode_control.tolerance = 1e-9;
  o.ode_control.check_every = 2;
  o.ode_control.max_steps = 12;
  auto flow = make_setup(3).flow;
  FlowTrainer t(flow, o);
  auto m = t.step();  // step 0 is checked: 3 -> 6 -> 12, still above 1e-9
  EXPECT_TRUE(m.ode_checked);
  EXPECT_TRUE(m.ode_refined);
  EXPECT_TRUE(m.ode_at_limit);
  EXPECT_EQ(m.ode_steps, 12);
  EXPECT_GT(m.ode_error, 1e-9);
  EXPECT_EQ(m.ode_steps_before, 3);
  EXPECT_GT(m.ode_error_before, m.ode_error);
  EXPECT_TRUE(std::isfinite(m.loss));
  m = t.step();
  EXPECT_FALSE(m.ode_checked);
  std::stringstream buf;
  {
    torch::serialize::OutputArchive ar;
    t.save(ar);
    ar.save_to(buf);
  }
  FlowTrainer u(make_setup(3).flow, o);
  torch::serialize::InputArchive ar;
  ar.load_from(buf);
  u.load(ar);
  EXPECT_EQ(u.flow->ode_steps(), 12);
  EXPECT_EQ(u.flow->level(0)->cnf->options.steps(), 12);
  o.ode_control.check_every = 0;
  EXPECT_THROW(FlowTrainer(make_setup(3).flow, o), std::invalid_argument);
}

TEST(OdeControl, PredictsTheStepCountFromTheH4Law) {
  auto s = make_setup(4);
  const double e8 = log_prob_error_at(s, 8), e16 = log_prob_error_at(s, 16);
  OdeControlOptions o;
  o.predict = true;
  o.tolerance = std::sqrt(e8 * e16);  // doubling goes 4 -> 8 -> 16; the h⁴ law needs ~8·4^{1/4} ≈ 11.3
  const double e4 = log_prob_error_at(s, 4);
  auto e = control_ode_steps(*s.flow, s.coarse, s.noise, o);
  // From 4 steps (not yet in the h⁴ regime: e4/e8 > 16) the law overshoots, so the first refinement is capped at 8;
  // from 8 it predicts ⌈8 · 1.2 · (e8/tol)^{1/4}⌉.
  ASSERT_GT(e4 / e8, 16.0);
  const auto predicted = static_cast<int64_t>(std::ceil(8 * 1.2 * std::pow(e8 / o.tolerance, 0.25)));
  EXPECT_EQ(e.initial_steps, 4);
  EXPECT_EQ(s.flow->ode_steps(), predicted);
  EXPECT_LT(s.flow->ode_steps(), 16);  // fewer than doubling
  EXPECT_EQ(e.steps, s.flow->ode_steps());
  EXPECT_LE(e.log_prob_error, o.tolerance);
  EXPECT_FALSE(e.at_limit);
  // The limit caps the prediction and is reported.
  o.max_steps = 6;
  s.flow->set_ode_steps(4);
  e = control_ode_steps(*s.flow, s.coarse, s.noise, o);
  EXPECT_EQ(s.flow->ode_steps(), 6);
  EXPECT_TRUE(e.at_limit);
}

TEST(OdeControl, CoarsensACountFarAboveWhatTheToleranceNeeds) {
  auto s = make_setup(4);
  const double e4 = log_prob_error_at(s, 4), e8 = log_prob_error_at(s, 8), e16 = log_prob_error_at(s, 16);
  ASSERT_GT(e4 / e8, 16.0);  // 4 steps: outside the h⁴ regime, where the law is optimistic
  OdeControlOptions o;
  o.predict = true;
  o.coarsen_below = 0.25;
  auto candidate = [&](int64_t n, double err) {
    return std::max((n + 1) / 2, static_cast<int64_t>(std::ceil(n * 1.2 * std::pow(err / o.tolerance, 0.25))));
  };
  // From 16 with a loose tolerance: the h⁴ law's count meets it and is kept, with its own estimate.
  o.tolerance = 30 * e16;
  const int64_t c16 = candidate(16, e16);
  ASSERT_LT(c16, 16);
  const double e_c16 = log_prob_error_at(s, c16);
  s.flow->set_ode_steps(16);
  auto e = control_ode_steps(*s.flow, s.coarse, s.noise, o);
  EXPECT_EQ(e.initial_steps, 16);
  EXPECT_NEAR(e.initial_log_prob_error, e16, 1e-12 * e16);
  EXPECT_EQ(s.flow->ode_steps(), c16);
  EXPECT_EQ(e.steps, c16);
  EXPECT_NEAR(e.log_prob_error, e_c16, 1e-12 * e_c16);
  EXPECT_LE(e.log_prob_error, o.tolerance);
  // From 8 toward 4, with a tolerance the law says 4 steps meet (e8 / tol small enough) but 4 steps miss (outside
  // the h⁴ regime): the count stays at 8 and the estimate is 8's.
  o.tolerance = std::sqrt(34 * e8 * e4);  // 4 = ⌈9.6 (e8/tol)^{1/4}⌉ needs tol ≥ 2.4⁴ e8 ≈ 33.2 e8
  ASSERT_EQ(candidate(8, e8), 4) << "tolerance " << o.tolerance << " e8 " << e8 << " e4 " << e4;
  ASSERT_GT(e4, o.tolerance) << "e8 " << e8 << " e4 " << e4;
  s.flow->set_ode_steps(8);
  e = control_ode_steps(*s.flow, s.coarse, s.noise, o);
  EXPECT_EQ(s.flow->ode_steps(), 8);
  EXPECT_EQ(e.steps, 8);
  EXPECT_NEAR(e.log_prob_error, e8, 1e-12 * e8);
  // An error not far enough below the tolerance (>= coarsen_below · tolerance) is left alone, and 0 never coarsens.
  o.tolerance = 3 * e16;
  s.flow->set_ode_steps(16);
  EXPECT_EQ(control_ode_steps(*s.flow, s.coarse, s.noise, o).steps, 16);
  o.tolerance = 1000 * e16;
  o.coarsen_below = 0;
  EXPECT_EQ(control_ode_steps(*s.flow, s.coarse, s.noise, o).steps, 16);
}
