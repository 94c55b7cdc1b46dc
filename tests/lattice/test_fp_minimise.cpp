// Tests of the FP minimiser: trivial point, convergence, D^FP vs finite differences and envelope theorem, gauge
// invariance of A_FP, the autograd function, and honest reporting of failures.
#include "test_helpers.h"

#include "lattice/blocking.h"
#include "lattice/derivatives.h"
#include "lattice/fp_action.h"
#include "lattice/fp_minimise.h"
#include "lattice/gauge_action.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <chrono>
#include <string>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {
const GaugeAction kWilson = GaugeAction::wilson(1.0);  // A[U] without β (the FP-equation normalisation)
ActionFunctional wilson() {
  return [](const torch::Tensor& U) { return kWilson(U); };
}

torch::Tensor coarse(int64_t N, uint64_t seed, int64_t batch = 1, double eps = 0.3) {
  auto gen = test_generator(seed);
  return near_identity_gauge_field(batch, {2, 2, 2, 2}, N, eps, gen, cplx());
}

FpMinimiserOptions tight() {
  FpMinimiserOptions o;
  o.grad_tol = 1e-10;
  return o;
}

/// One SU(3) 2^4 -> 4^4 minimisation shared by several tests (the most expensive step), with its run time.
struct Su3Case {
  torch::Tensor V;
  FpResult result;
  double seconds;
};
const Su3Case& su3_case() {
  static const Su3Case c = [] {
    Su3Case k;
    k.V = coarse(3, 604);
    auto t0 = std::chrono::steady_clock::now();
    k.result = fp_minimise(k.V, wilson(), tight());
    k.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return k;
  }();
  return c;
}

/// A_FP at V with link (b, mu, site) rotated by exp(iε t^a), warm-started from U0.
double shifted_action(const torch::Tensor& V, const torch::Tensor& U0, int64_t mu, const std::vector<int64_t>& site,
                      int64_t a, double eps) {
  const int64_t N = n_colors(V);
  auto comp = torch::zeros({n_generators(N)}, real());
  comp[a] = eps;
  std::vector<at::indexing::TensorIndex> idx{0, mu};
  for (auto x : site) idx.emplace_back(x);
  auto W = V.clone();
  W.index_put_(idx, mat_mul(su_exp(algebra_to_matrix(comp, N)), V.index(idx)));
  auto o = tight();
  o.grad_tol = 1e-8;  // A_FP's error is O(grad²): far below the finite-difference resolution
  o.initial_guess = U0;
  auto r = fp_minimise(W, wilson(), o);
  EXPECT_TRUE(r.converged.all().item<bool>());
  return r.action[0].item<double>();
}

void check_finite_differences(const torch::Tensor& V, const FpResult& r, double seconds) {
  const int64_t N = n_colors(V);
  ASSERT_TRUE(r.converged.all().item<bool>()) << r.grad_norm;
  std::cout << "[ info ] SU(" << N << ") 2^4 -> 4^4: " << r.iterations[0].item<int64_t>() << " iterations, " << seconds
            << " s, grad norm " << r.grad_norm[0].item<double>() << ", A_FP " << r.action[0].item<double>() << "\n";
  const std::vector<std::tuple<int64_t, std::vector<int64_t>, int64_t>> comps{{0, {0, 0, 0, 0}, 0},
                                                                              {3, {1, 1, 0, 1}, n_generators(N) - 1}};
  const double eps = 1e-4;
  for (const auto& [mu, site, a] : comps) {
    const double fd =
        (shifted_action(V, r.U, mu, site, a, eps) - shifted_action(V, r.U, mu, site, a, -eps)) / (2 * eps);
    std::vector<at::indexing::TensorIndex> idx{0, mu};
    for (auto x : site) idx.emplace_back(x);
    idx.emplace_back(a);
    const double an = r.derivative.index(idx).item<double>();
    EXPECT_GT(std::abs(an), 1e-4) << "mu=" << mu << " a=" << a;
    EXPECT_NEAR(an, fd, 1e-6 * std::max(1.0, std::abs(an))) << "mu=" << mu << " a=" << a;
  }
}
}  // namespace

TEST(FpMinimise, UnitCoarseFieldHasZeroActionAndUnitMinimiser) {
  auto V = cold_gauge_field(1, {2, 2, 2, 2}, 3, cplx());
  auto r = fp_minimise(V, wilson(), tight());
  EXPECT_TRUE(r.converged.all().item<bool>());
  EXPECT_EQ(r.iterations[0].item<int64_t>(), 0);
  EXPECT_LT(std::abs(r.action[0].item<double>()), 1e-12);
  EXPECT_LT(max_abs_diff(r.U, cold_gauge_field(1, {4, 4, 4, 4}, 3, cplx())), 1e-14);
  EXPECT_LT(max_abs(r.derivative), 1e-12);
}

TEST(FpMinimise, ConvergesBelowToleranceBatched) {
  auto V = coarse(2, 601, 2, 0.4);
  auto o = tight();
  std::vector<FpProgress> reports;
  o.on_iteration = [&](const FpProgress& p) { reports.push_back(p); };
  auto r = fp_minimise(V, wilson(), o);
  EXPECT_TRUE(r.converged.all().item<bool>()) << r.grad_norm;
  EXPECT_TRUE((r.grad_norm <= o.grad_tol).all().item<bool>()) << r.grad_norm;
  // One progress report per iteration; at the end nothing is active and both configurations converged.
  ASSERT_EQ(static_cast<int64_t>(reports.size()), r.iterations.max().item<int64_t>());
  EXPECT_EQ(reports.front().iteration, 1);
  EXPECT_EQ(reports.front().batch, 2);
  EXPECT_GT(reports.front().max_grad_norm, o.grad_tol);
  EXPECT_EQ(reports.back().n_active, 0);
  EXPECT_EQ(reports.back().n_converged, 2);
  EXPECT_EQ(reports.back().max_grad_norm, 0.0);
  // The objective is reported per configuration, never rises (Armijo) and ends at A_FP.
  for (size_t i = 1; i < reports.size(); ++i)
    EXPECT_TRUE((reports[i].objective <= reports[i - 1].objective + 1e-12).all().item<bool>()) << i;
  EXPECT_LT(max_abs_diff(reports.back().objective, r.action.to(torch::kDouble)), 1e-12);
  EXPECT_GT(reports.front().objective[0].item<double>(), r.action[0].item<double>() + 1e-3);
  // Independent check of the gradient at U*: autograd of A + T.
  auto D =
      autograd_derivative([&](const torch::Tensor& U) { return kWilson(U) + blocking_kernel(U, V, o.blocking); }, r.U);
  EXPECT_LT(max_abs(D), 1e-9);
  // The minimum lies below the start and the blocked minimiser stays close to V; T >= 0, A >= 0.
  auto start = unblock_start(V);
  auto F0 = kWilson(start) + blocking_kernel(start, V, o.blocking);
  EXPECT_TRUE((r.action < F0).all().item<bool>());
  EXPECT_TRUE((r.kernel >= 0).all().item<bool>());
  EXPECT_TRUE((r.action > 0).all().item<bool>());
  EXPECT_LT(max_abs_diff(r.action, r.fine_action + r.kernel), 1e-12);
  // Per-configuration results equal separate runs: the same iterates (the batch evaluates only its members still
  // searching, and a member that has converged stays put while the other goes on).
  ASSERT_NE(r.iterations[0].item<int64_t>(), r.iterations[1].item<int64_t>()) << "the test needs unequal lengths";
  for (int64_t k = 0; k < 2; ++k) {
    auto rk = fp_minimise(V.narrow(0, k, 1), wilson(), o);
    EXPECT_EQ(rk.iterations[0].item<int64_t>(), r.iterations[k].item<int64_t>()) << k;
    EXPECT_NEAR(rk.action[0].item<double>(), r.action[k].item<double>(), 1e-10) << k;
    EXPECT_LT(max_abs_diff(rk.derivative[0], r.derivative[k]), 1e-9) << k;
  }
}

TEST(FpMinimise, DerivativeMatchesEnvelopeTheorem) {
  // D^FP = d T[U*, V] / dV at fixed U* (autograd of the kernel in V).
  const auto& c = su3_case();
  const auto& r = c.result;
  auto D = autograd_derivative([&](const torch::Tensor& v) { return blocking_kernel(r.U, v, BlockingOptions{}); }, c.V);
  EXPECT_LT(max_abs_diff(D, r.derivative), 1e-12 * std::max(1.0, max_abs(D)));
  EXPECT_GT(max_abs(D), 1e-3);
}

TEST(FpMinimise, DerivativeMatchesFiniteDifferencesSU2) {
  auto V = coarse(2, 603);
  auto t0 = std::chrono::steady_clock::now();
  auto r = fp_minimise(V, wilson(), tight());
  check_finite_differences(V, r, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}
TEST(FpMinimise, DerivativeMatchesFiniteDifferencesSU3) {
  const auto& c = su3_case();
  check_finite_differences(c.V, c.result, c.seconds);
}

TEST(FpMinimise, ActionIsGaugeInvariant) {
  auto V = coarse(2, 605, 1, 0.4);
  auto gen = test_generator(606);
  auto omega = random_gauge_transformation(1, {2, 2, 2, 2}, 2, gen, cplx());
  auto a = fp_minimise(V, wilson(), tight());
  auto b = fp_minimise(gauge_transform(V, omega), wilson(), tight());
  ASSERT_TRUE(a.converged.all().item<bool>() && b.converged.all().item<bool>());
  EXPECT_NEAR(a.action[0].item<double>(), b.action[0].item<double>(), 1e-9);
  // The minimisers are related by a fine gauge transformation equal to Ω on the block sites: their gauge
  // invariants agree.
  EXPECT_NEAR(kWilson(a.U)[0].item<double>(), kWilson(b.U)[0].item<double>(), 1e-8);
}

TEST(FpMinimise, AutogradBackwardEqualsDerivative) {
  // Warm start at the known minimiser: the forward converges at once; the backward must reproduce D^FP.
  const auto& c = su3_case();
  auto o = tight();
  o.initial_guess = c.result.U;
  FpResult r;
  auto D = autograd_derivative([&](const torch::Tensor& v) { return fp_action(v, wilson(), o, &r); }, c.V);
  ASSERT_TRUE(r.converged.all().item<bool>());
  EXPECT_LT(max_abs_diff(D, c.result.derivative), 1e-12 * std::max(1.0, max_abs(D)));
  EXPECT_GT(max_abs(D), 1e-3);
  // Chain rule through a downstream function: d(c·A)/dV = c·G with G = 2 (Σ_a D_a i t^a) V.
  auto v = c.V.detach().requires_grad_(true);
  auto loss = (2.5 * fp_action(v, wilson(), o)).sum();
  loss.backward();
  auto expected = 2.0 * 2.5 * mat_mul(algebra_to_matrix(c.result.derivative, 3), c.V);
  EXPECT_LT(max_abs_diff(v.grad(), expected), 1e-11);
}

TEST(FpMinimise, NonConvergenceIsReported) {
  auto V = coarse(2, 608, 2, 0.4);
  auto o = tight();
  o.max_iterations = 2;
  auto r = fp_minimise(V, wilson(), o);
  EXPECT_FALSE(r.converged.any().item<bool>());
  EXPECT_TRUE((r.grad_norm > o.grad_tol).all().item<bool>());
  EXPECT_TRUE((r.iterations == 2).all().item<bool>());
  try {
    fp_action(V, wilson(), o);
    FAIL() << "unconverged minimisation passed silently";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("did not converge"), std::string::npos) << e.what();
  }
}

// A minimum on a kink: an L1 penalty λ|Re (U_0(0))_01| pins the minimum at Re (U_0(0))_01 = 0, where the gradient
// jumps, so the gradient norm cannot fall below ~λ. The stall rule gives the configuration up after stall_iterations
// without a halving; without it L-BFGS runs to max_iterations. The smooth action converges with the same options.
TEST(FpMinimise, StalledConfigurationIsGivenUp) {
  auto V = coarse(2, 611, 2, 0.3);
  const ActionFunctional kinked = [](const torch::Tensor& U) {
    auto entry = U.select(1, 0).flatten(1, -3).select(1, 0).select(-2, 0).select(-1, 1);  // (U_0(0))_{01} [batch]
    return kWilson(U) + 10.0 * torch::real(entry).abs();
  };
  auto o = tight();
  o.max_iterations = 200;
  o.restarts = 1000;  // failed line searches never give it up: only the stall rule does
  o.stall_iterations = 40;
  auto r = fp_minimise(V, kinked, o);
  EXPECT_FALSE(r.converged.any().item<bool>());
  EXPECT_TRUE((r.iterations >= o.stall_iterations).all().item<bool>()) << r.iterations;
  EXPECT_TRUE((r.iterations < o.max_iterations / 2).all().item<bool>()) << "not given up: " << r.iterations;
  EXPECT_TRUE((r.grad_norm > 1e-3).all().item<bool>()) << r.grad_norm;
  EXPECT_TRUE(fp_minimise(V, wilson(), o).converged.all().item<bool>()) << "the rule must not stop smooth minima";
  o.stall_iterations = 0;  // never: the kink keeps it busy to the end
  auto never = fp_minimise(V.narrow(0, 0, 1), kinked, o);
  EXPECT_FALSE(never.converged[0].item<bool>());
  EXPECT_EQ(never.iterations[0].item<int64_t>(), o.max_iterations);
}

TEST(FpMinimise, RejectsInvalidInputs) {
  auto V = coarse(2, 609);
  auto bad = V.clone();
  bad.index_put_({0, 1, 1, 0, 1, 0}, 2.0 * bad.index({0, 1, 1, 0, 1, 0}));
  try {
    fp_minimise(bad, wilson());
    FAIL() << "non-SU(N) V accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("batch 0, mu 1, site (1, 0, 1, 0)"), std::string::npos) << e.what();
  }
  auto o = tight();
  o.initial_guess = cold_gauge_field(1, {4, 4, 4, 2}, 2, cplx());
  EXPECT_THROW(fp_minimise(V, wilson(), o), std::invalid_argument);
}
