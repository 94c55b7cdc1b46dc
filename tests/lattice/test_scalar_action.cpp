// Tests of the hopping-form φ⁴ action: brute-force values, analytic ∂S/∂φ, ∂S/∂κ, ∂S/∂λ, exact free propagators.
#include "test_helpers.h"

#include "lattice/free_scalar.h"
#include "lattice/scalar_action.h"

#include <cmath>
#include <stdexcept>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {

/// Scalar geometries in D = 1..4, including extents 1 and 2 (where x+μ and x−μ coincide).
std::vector<std::vector<int64_t>> scalar_geometries() {
  return {{7}, {2}, {1}, {3, 4}, {2, 5}, {2, 3, 4}, {3, 2, 1, 2}};
}

std::string name_of(const std::vector<int64_t>& e) {
  std::string s = "D" + std::to_string(e.size()) + "_";
  for (size_t i = 0; i < e.size(); ++i) s += (i ? "x" : "") + std::to_string(e[i]);
  return s;
}

torch::Tensor random_field(const std::vector<int64_t>& extents, int64_t batch, uint64_t seed) {
  auto gen = test_generator(seed);
  std::vector<int64_t> shape{batch};
  shape.insert(shape.end(), extents.begin(), extents.end());
  return torch::randn(shape, gen, real());
}

/// S by explicit loops over flat site indices (row-major, last axis fastest), one configuration.
double brute_force_action(const torch::Tensor& phi_b, const std::vector<int64_t>& ext, double kappa, double lambda) {
  auto phi = phi_b.contiguous();
  const double* f = phi.data_ptr<double>();
  const auto D = static_cast<int64_t>(ext.size());
  int64_t V = 1;
  for (auto e : ext) V *= e;
  double S = 0;
  std::vector<int64_t> x(D);
  for (int64_t i = 0; i < V; ++i) {
    for (int64_t r = i, mu = D - 1; mu >= 0; --mu) x[mu] = r % ext[mu], r /= ext[mu];
    S += (1 - 2 * lambda) * f[i] * f[i] + lambda * std::pow(f[i], 4);
    for (int64_t mu = 0; mu < D; ++mu) {
      auto y = x;
      y[mu] = (y[mu] + 1) % ext[mu];
      int64_t j = 0;
      for (int64_t nu = 0; nu < D; ++nu) j = j * ext[nu] + y[nu];
      S -= 2 * kappa * f[i] * f[j];
    }
  }
  return S;
}

class ScalarActionGeometry : public ::testing::TestWithParam<std::vector<int64_t>> {};

}  // namespace

TEST_P(ScalarActionGeometry, MatchesBruteForceLoopsWithPerConfigurationCouplings) {
  const auto ext = GetParam();
  auto phi = random_field(ext, 3, 101);
  const std::vector<double> kappas{0.13, -0.07, 0.31}, lambdas{0.02, 0.5, 1.3};
  ScalarCouplings c{torch::tensor(kappas, real()), torch::tensor(lambdas, real())};
  auto S = scalar_action(phi, c);
  ASSERT_EQ(S.sizes(), torch::IntArrayRef({3}));
  for (int64_t b = 0; b < 3; ++b) {
    const double expect = brute_force_action(phi[b], ext, kappas[b], lambdas[b]);
    EXPECT_NEAR(S[b].item<double>(), expect, 1e-12 * (1 + std::abs(expect))) << b;
  }
  auto S0 = scalar_action(phi, ScalarCouplings::constant(0.13, 0.02));
  EXPECT_NEAR(S0[1].item<double>(), brute_force_action(phi[1], ext, 0.13, 0.02), 1e-11);
  EXPECT_NEAR(scalar_action_density(phi, c).flatten(1).sum(1).sub(S).abs().max().item<double>(), 0, 1e-12);
}

TEST_P(ScalarActionGeometry, FieldDerivativeMatchesAutograd) {
  const auto ext = GetParam();
  auto phi = random_field(ext, 2, 102).requires_grad_(true);
  ScalarCouplings c{torch::tensor({0.21, -0.1}, real()), torch::tensor({0.7, 0.05}, real())};
  auto grad = torch::autograd::grad({scalar_action(phi, c).sum()}, {phi})[0];
  auto analytic = scalar_action_derivative(phi.detach(), c);
  EXPECT_LT(max_abs_diff(analytic, grad), 1e-12);
  EXPECT_GT(max_abs(analytic), 0.1);
}

TEST_P(ScalarActionGeometry, CouplingDerivativesMatchAutogradAndFiniteDifferences) {
  const auto ext = GetParam();
  auto phi = random_field(ext, 3, 103);
  auto kappa = torch::tensor({0.2, 0.05, -0.3}, real()).requires_grad_(true);
  auto lambda = torch::tensor({0.4, 1.1, 0.0}, real()).requires_grad_(true);
  auto S = scalar_action(phi, {kappa, lambda});
  auto grads = torch::autograd::grad({S.sum()}, {kappa, lambda});
  auto dk = scalar_action_dkappa(phi), dl = scalar_action_dlambda(phi);
  EXPECT_LT(max_abs_diff(grads[0], dk), 1e-12);
  EXPECT_LT(max_abs_diff(grads[1], dl), 1e-12);
  // Eq. (35) against central differences of the action in a scalar coupling.
  const double k = 0.17, l = 0.6, h = 1e-4;
  auto fd_k = (scalar_action(phi, ScalarCouplings::constant(k + h, l)) -
               scalar_action(phi, ScalarCouplings::constant(k - h, l))) /
              (2 * h);
  auto fd_l = (scalar_action(phi, ScalarCouplings::constant(k, l + h)) -
               scalar_action(phi, ScalarCouplings::constant(k, l - h))) /
              (2 * h);
  EXPECT_LT(max_abs_diff(fd_k, dk), 1e-8);
  EXPECT_LT(max_abs_diff(fd_l, dl), 1e-8);
  EXPECT_GT(max_abs(dk) + max_abs(dl), 0.1);
}

INSTANTIATE_TEST_SUITE_P(Geometries, ScalarActionGeometry, ::testing::ValuesIn(scalar_geometries()),
                         [](const auto& info) { return name_of(info.param); });

TEST(ScalarAction, ScalarCouplingGradientIsTheBatchSum) {
  auto phi = random_field({4, 4}, 5, 104);
  auto kappa = torch::tensor(0.2, real()).requires_grad_(true);
  auto lambda = torch::tensor(0.3, real()).requires_grad_(true);
  scalar_action(phi, {kappa, lambda}).sum().backward();
  EXPECT_NEAR(kappa.grad().item<double>(), scalar_action_dkappa(phi).sum().item<double>(), 1e-11);
  EXPECT_NEAR(lambda.grad().item<double>(), scalar_action_dlambda(phi).sum().item<double>(), 1e-11);
}

TEST(ScalarAction, FollowsFieldDtypeAndDevice) {
  auto phi = random_field({3, 4}, 2, 105);
  auto c = ScalarCouplings::constant(0.15, 0.4);
  auto Sd = scalar_action(phi, c);
  auto Sf = scalar_action(phi.to(torch::kFloat), c);
  EXPECT_EQ(Sf.scalar_type(), torch::kFloat);
  EXPECT_EQ(scalar_action_derivative(phi.to(torch::kFloat), c).scalar_type(), torch::kFloat);
  EXPECT_LT(max_abs_diff(Sf.to(torch::kDouble), Sd), 1e-4);
  if (torch::cuda::is_available()) {
    auto Sc = scalar_action(phi.to(torch::kCUDA), c);
    EXPECT_TRUE(Sc.is_cuda());
    EXPECT_LT(max_abs_diff(Sc.cpu(), Sd.cpu()), 1e-12);
  }
}

TEST(ScalarAction, RejectsMalformedInput) {
  auto c = ScalarCouplings::constant(0.1, 0.1);
  EXPECT_THROW(scalar_action(torch::zeros({4}, real()), c), std::invalid_argument);
  EXPECT_THROW(scalar_action(torch::zeros({2, 4}, torch::kLong), c), std::invalid_argument);
  EXPECT_THROW(scalar_action(torch::zeros({2, 4}, real()), {torch::zeros({3}, real()), c.lambda}),
               std::invalid_argument);
  EXPECT_NO_THROW(scalar_action(torch::zeros({2, 4}, real()), {torch::zeros({2}, real()), c.lambda}));
}

TEST(FreeScalar, PropagatorsMatchInverseOfTheActionMatrix) {
  // At λ = 0, ∂S/∂φ = Mφ: M's columns are the derivatives at unit vectors; ⟨φ_x φ_y⟩ = (M⁻¹)_{xy}.
  const double kappa = 0.09;
  for (const auto& ext : scalar_geometries()) {
    int64_t V = 1;
    for (auto e : ext) V *= e;
    std::vector<int64_t> shape{V};
    shape.insert(shape.end(), ext.begin(), ext.end());
    auto units = torch::eye(V, real()).view(shape);
    auto M = scalar_action_derivative(units, ScalarCouplings::constant(kappa, 0.0)).view({V, V});
    auto C = torch::inverse(M).cpu();  // the closed forms below are CPU tensors
    const auto D = static_cast<int64_t>(ext.size());
    EXPECT_NEAR(free_phi2(ext, kappa), C.diagonal().mean().item<double>(), 1e-12) << name_of(ext);
    EXPECT_NEAR(free_susceptibility(D, kappa), C.sum().item<double>() / V, 1e-12) << name_of(ext);
    EXPECT_LT(max_abs_diff(free_propagator(ext, kappa).flatten(), C[0]), 1e-12) << name_of(ext);
    // C(t) = Σ_{x⊥} ⟨φ_0 φ_{(t, x⊥)}⟩ along axis 0.
    auto Ct = C[0].view(ext);
    if (D > 1) Ct = Ct.flatten(1).sum(1);
    EXPECT_LT(max_abs_diff(free_timeslice_correlator(ext, kappa), Ct), 1e-12) << name_of(ext);
    if (ext[0] >= 2) {  // second-moment ξ² from G̃(0) and G̃(2π/L_0, 0, ..).
      auto Gp = free_propagator_momentum(ext, kappa).flatten();
      const double stride = static_cast<double>(V / ext[0]);
      const double p2 = 4 * std::pow(std::sin(M_PI / ext[0]), 2);
      const double xi2 = (Gp[0].item<double>() / Gp[static_cast<int64_t>(stride)].item<double>() - 1) / p2;
      EXPECT_NEAR(xi2, free_xi2_second_moment(D, kappa), 1e-12) << name_of(ext);
    }
  }
  EXPECT_NEAR(free_susceptibility(2, 0.1), 1.0 / (2 * (1 - 4 * 0.1)), 1e-15);
  EXPECT_THROW(free_phi2({4, 4}, 0.26), std::domain_error);
  EXPECT_THROW(free_langevin_phi2({4, 4}, 0.1, 2.0), std::domain_error);
}
