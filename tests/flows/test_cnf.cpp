// Tests of the CNF (Eqs. 22, 26–28): RK4 round trip, convergence order, adjoint = backprop gradients, float fields;
// Kutta's 3/8 rule against the classic rule.
#include "flow_test_helpers.h"

#include "flows/cnf.h"
#include "flows/ode.h"

#include <algorithm>
#include <cmath>

using namespace blockspin::flows;
using namespace blockspin::flows::testing;

namespace {
CNF random_cnf(int64_t steps, bool adjoint = false, double scale = 0.25, uint64_t seed = 41,
               RungeKutta rule = RungeKutta::classic) {
  CNF cnf(CNFOptions(small_field_options(2)).steps(steps).adjoint(adjoint).rule(rule));
  randomise(*cnf, seed, scale);
  return on_device(cnf);  // after drawing the weights on the CPU: the same network on every device
}
FlowState start_state(uint64_t seed) { return {random_field({3, 4, 4}, seed), random_field({3}, seed + 1)}; }
/// Round-trip error max |Ψ − F⁻¹(F(Ψ))| and the same for log p.
std::pair<double, double> round_trip_error(int64_t steps, RungeKutta rule = RungeKutta::classic) {
  auto cnf = random_cnf(steps, false, 0.25, 41, rule);
  torch::NoGradGuard no_grad;
  auto s = start_state(42);
  auto back = cnf->reverse(cnf->forward(s));
  return {max_abs_diff(back.phi, s.phi), max_abs_diff(back.log_prob, s.log_prob)};
}
}  // namespace

TEST(CNF, ForwardMovesTheFieldAndReverseUndoesItToIntegrationAccuracy) {
  auto cnf = random_cnf(100);
  torch::NoGradGuard no_grad;
  auto s = start_state(43);
  auto f = cnf->forward(s);
  EXPECT_GT(max_abs_diff(f.phi, s.phi), 0.1);  // far from the identity
  EXPECT_GT(max_abs_diff(f.log_prob, s.log_prob), 0.1);
  auto [e_phi, e_lp] = round_trip_error(100);
  EXPECT_LT(e_phi, 1e-10);
  EXPECT_LT(e_lp, 1e-10);
}

TEST(CNF, RoundTripErrorConvergesWithFourthOrder) {
  auto e5 = round_trip_error(5), e10 = round_trip_error(10);
  EXPECT_GT(e5.first, 1e-9);  // the test sees a non-trivial error at all
  const double order = std::log2(e5.first / e10.first);
  EXPECT_GT(order, 3.5) << e5.first << " " << e10.first;
  EXPECT_LT(order, 6.0);
}

TEST(CNF, IdentityInitialisedFlowKeepsFieldAndDensity) {
  auto cnf = on_device(CNF(CNFOptions(small_field_options(2)).steps(3)));
  auto s = start_state(44);
  auto f = cnf->forward(s);
  EXPECT_EQ(max_abs_diff(f.phi, s.phi), 0.0);
  EXPECT_EQ(max_abs_diff(f.log_prob, s.log_prob), 0.0);
}

namespace {
/// Loss and gradients (Ψ, log p, every parameter) of a forward CNF with backprop or adjoint gradients.
std::pair<double, std::vector<torch::Tensor>> loss_and_grads(bool adjoint, int64_t steps,
                                                             RungeKutta rule = RungeKutta::classic) {
  auto cnf = random_cnf(steps, adjoint, 0.25, 41, rule);
  auto s = start_state(45);
  auto psi = s.phi.clone().requires_grad_(true);
  auto lp = s.log_prob.clone().requires_grad_(true);
  auto f = cnf->forward({psi, lp});
  auto loss = (torch::sin(f.phi) * f.phi).sum() + (f.log_prob * torch::arange(1, 4, real())).sum();
  std::vector<torch::Tensor> inputs{psi, lp};
  for (auto& p : cnf->parameters()) inputs.push_back(p);
  return {loss.item<double>(), torch::autograd::grad({loss}, inputs)};
}
/// Largest relative difference of adjoint and backprop gradients over all inputs.
double adjoint_discrepancy(int64_t steps, RungeKutta rule = RungeKutta::classic) {
  auto [lb, gb] = loss_and_grads(false, steps, rule);
  auto [la, ga] = loss_and_grads(true, steps, rule);
  EXPECT_NEAR(lb, la, 1e-12);
  double worst = 0;
  for (size_t i = 0; i < gb.size(); ++i) {
    const double scale = gb[i].abs().max().item<double>();
    EXPECT_GT(scale, 1e-6) << "input " << i;
    worst = std::max(worst, max_abs_diff(ga[i], gb[i]) / (1 + scale));
  }
  return worst;
}
}  // namespace

TEST(CNF, AdjointGradientsEqualBackpropGradients) {
  // The adjoint re-integrates Ψ backwards, so both agree to the integration accuracy, O(h⁴).
  const double d8 = adjoint_discrepancy(8), d16 = adjoint_discrepancy(16), d48 = adjoint_discrepancy(48);
  EXPECT_GT(d8 / d16, 8.0) << d8 << " " << d16;
  EXPECT_LT(d48, 1e-7);
}

TEST(CNF, ReverseFlowAlsoHasAdjointGradients) {
  auto grad_of_reverse = [](bool adjoint) {
    auto cnf = random_cnf(40, adjoint);
    auto s = start_state(46);
    auto psi = s.phi.clone().requires_grad_(true);
    auto r = cnf->reverse({psi, s.log_prob});
    auto loss = r.phi.pow(3).sum() + r.log_prob.sum();
    return torch::autograd::grad({loss}, {psi, cnf->field->weight});
  };
  auto gb = grad_of_reverse(false), ga = grad_of_reverse(true);
  for (size_t i = 0; i < gb.size(); ++i)
    EXPECT_LT(max_abs_diff(ga[i], gb[i]), 1e-6 * (1 + gb[i].abs().max().item<double>()));
  EXPECT_GT(gb[1].abs().max().item<double>(), 1e-6);
}

TEST(CNF, FloatFieldsFollowTheDoubleResult) {
  auto cnf = random_cnf(8);
  torch::NoGradGuard no_grad;
  auto s = start_state(47);
  auto fd = cnf->forward(s);
  auto ff = cnf->forward({s.phi.to(torch::kFloat), s.log_prob.to(torch::kFloat)});
  EXPECT_EQ(ff.phi.dtype(), torch::kFloat);
  EXPECT_LT(max_abs_diff(ff.phi.to(torch::kDouble), fd.phi), 1e-4);
  EXPECT_LT(max_abs_diff(ff.log_prob.to(torch::kDouble), fd.log_prob), 1e-3);
}

TEST(CNF, ThreeEighthsRuleIsAnotherFourthOrderRuleForTheSameFlow) {
  const auto rk38 = RungeKutta::three_eighths;
  // Fourth order (a wrong coefficient of the tableau breaks an order condition), and a round trip to 1e-9 (1.2e-10
  // measured; the classic rule's is 0.6e-10 on this field).
  auto e5 = round_trip_error(5, rk38), e10 = round_trip_error(10, rk38);
  EXPECT_GT(e5.first, 1e-9);
  const double order = std::log2(e5.first / e10.first);
  EXPECT_GT(order, 3.5) << e5.first << " " << e10.first;
  EXPECT_LT(order, 6.0);
  const auto e100 = round_trip_error(100, rk38);
  EXPECT_LT(e100.first, 1e-9);
  EXPECT_LT(e100.second, 1e-9);
  // The same ODE: both rules approach one solution (field and log p̃), and they are different rules.
  torch::NoGradGuard no_grad;
  auto s = start_state(47);
  auto classic = random_cnf(200), three = random_cnf(200, false, 0.25, 41, rk38);
  auto a = classic->forward(s), b = three->forward(s);
  EXPECT_LT(max_abs_diff(a.phi, b.phi), 1e-10);
  EXPECT_LT(max_abs_diff(a.log_prob, b.log_prob), 1e-10);
  classic->options.steps(5);
  three->options.steps(5);
  EXPECT_GT(max_abs_diff(classic->forward(s).log_prob, three->forward(s).log_prob), 1e-7);
}

TEST(CNF, ThreeEighthsAdjointGradientsEqualItsBackpropGradients) {
  const auto rk38 = RungeKutta::three_eighths;
  const double d8 = adjoint_discrepancy(8, rk38), d16 = adjoint_discrepancy(16, rk38),
               d48 = adjoint_discrepancy(48, rk38);
  EXPECT_GT(d8 / d16, 8.0) << d8 << " " << d16;
  EXPECT_LT(d48, 1e-7);
}
