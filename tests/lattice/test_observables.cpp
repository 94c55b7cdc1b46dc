// Tests of loop observables and clover quantities: exact values on constant-flux fields, invariances.
#include "test_helpers.h"

#include "lattice/field_strength.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/observables.h"
#include "lattice/paths.h"

#include <cmath>
#include <complex>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {
/// (1/N) Σ_j exp(i θ q_j): the normalised trace of exp(iθH), H = diag(q).
std::complex<double> tr_exp(double theta, const std::vector<int64_t>& q) {
  std::complex<double> s = 0;
  for (auto qj : q) s += std::polar(1.0, theta * static_cast<double>(qj));
  return s / static_cast<double>(q.size());
}
double flux_angle(int64_t n, int64_t L1, int64_t L2) { return 2.0 * M_PI * n / static_cast<double>(L1 * L2); }
}  // namespace

TEST(ObservablesExact, ColdConfiguration) {
  auto U = cold_gauge_field(2, {4, 3, 5, 4}, 3, cplx());
  EXPECT_LT(max_abs(average_plaquette(U) - 1.0), 1e-14);
  EXPECT_LT(max_abs(wilson_loop(U, 2, 3) - 1.0), 1e-14);
  EXPECT_LT(max_abs(polyakov_loop(U, 2) - 1.0), 1e-14);
  EXPECT_LT(max_abs(energy_density_clover(U)), 1e-14);
  EXPECT_LT(max_abs(energy_density_plaquette(U)), 1e-14);
  EXPECT_LT(max_abs(topological_charge(U)), 1e-14);
}

TEST(ObservablesExact, ConstantFluxLoops) {
  // Flux n in the (0, 1) plane with H = diag(1, -1, 0) and flux n' in (1, 2) with H' = diag(1, 0, -1).
  const std::vector<int64_t> ext{4, 6, 5};
  const std::vector<int64_t> q{1, -1, 0}, q2{1, 0, -1};
  const int64_t n = 1, n2 = 2;
  auto U = abelian_flux_gauge_field(1, ext, 3, {{0, 1, n, q}, {1, 2, n2, q2}}, cplx());
  EXPECT_LT(max_su_n_violation(U).item<double>(), 1e-14);
  const double phi = flux_angle(n, 4, 6), phi2 = flux_angle(n2, 6, 5);
  // Plaquette fields are constant: exp(iφH) in flux planes, 1 elsewhere.
  auto expected = torch::zeros({3, 3}, cplx());
  for (int64_t j = 0; j < 3; ++j) expected[j][j] = c10::complex<double>(std::cos(phi * q[j]), std::sin(phi * q[j]));
  EXPECT_LT(max_abs(plaquette_field(U, 0, 1) - expected), 1e-13);
  auto per_plane = plaquette_per_plane(U)[0];  // planes (0,1), (0,2), (1,2)
  EXPECT_NEAR(per_plane[0].item<double>(), tr_exp(phi, q).real(), 1e-14);
  EXPECT_NEAR(per_plane[1].item<double>(), 1.0, 1e-14);
  EXPECT_NEAR(per_plane[2].item<double>(), tr_exp(phi2, q2).real(), 1e-14);
  // m x n Wilson loops: Re Tr exp(i m n φ H) / N, both orientations; average over the three planes.
  for (auto [m, k] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {1, 2}, {2, 2}, {3, 1}}) {
    auto w = wilson_loop_per_plane(U, m, k)[0];
    EXPECT_NEAR(w[0].item<double>(), tr_exp(m * k * phi, q).real(), 1e-13) << m << "x" << k;
    EXPECT_NEAR(w[1].item<double>(), 1.0, 1e-13);
    EXPECT_NEAR(w[2].item<double>(), tr_exp(m * k * phi2, q2).real(), 1e-13);
    auto field = wilson_loop_field(U, 0, 1, m, k);
    EXPECT_LT(max_abs(field - tr_exp(m * k * phi, q).real()), 1e-13);  // the same at every site
  }
  // Generic path machinery agrees with the dedicated loop code.
  auto via_path = re_trace(path_product(U, rectangle(1, 2, 2, 3))).squeeze(1) / 3.0;
  EXPECT_LT(max_abs_diff(via_path, wilson_loop_field(U, 1, 2, 2, 3)), 1e-13);
}

TEST(ObservablesExact, ConstantFluxPolyakovLoops) {
  // Flux n through (0, 1): the loop along 0 at x_1 is exp(-2πi n x_1 H / L_1), along 1 at x_0 it is exp(2πi n x_0 H /
  // L_0).
  const std::vector<int64_t> ext{4, 6, 3};
  const std::vector<int64_t> q{1, -1};
  auto U = abelian_flux_gauge_field(1, ext, 2, {{0, 1, 1, q}}, cplx());
  auto P0 = polyakov_loop_field(U, 0);  // [1, x1, x2]
  auto P1 = polyakov_loop_field(U, 1);  // [1, x0, x2]
  ASSERT_EQ(P0.sizes(), (std::vector<int64_t>{1, 6, 3}));
  ASSERT_EQ(P1.sizes(), (std::vector<int64_t>{1, 4, 3}));
  for (int64_t x1 = 0; x1 < 6; ++x1) {
    auto e = tr_exp(-2 * M_PI * x1 / 6.0, q);
    EXPECT_NEAR(torch::real(P0[0][x1][1]).item<double>(), e.real(), 1e-13);
    EXPECT_NEAR(torch::imag(P0[0][x1][1]).item<double>(), e.imag(), 1e-13);
  }
  for (int64_t x0 = 0; x0 < 4; ++x0) {
    auto e = tr_exp(2 * M_PI * x0 / 4.0, q);
    EXPECT_NEAR(torch::real(P1[0][x0][2]).item<double>(), e.real(), 1e-13);
  }
  EXPECT_LT(max_abs(polyakov_loop_field(U, 2) - 1.0), 1e-13);
}

TEST(ObservablesExact, ConstantFluxFieldStrengthEnergyAndCharge) {
  // F_01 = sin(φ H) exactly (all clover leaves equal exp(iφH)); E = Σ planes Tr F²; Q = V/(4π²) Σ_j sin(φ q_j) sin(φ'
  // q'_j).
  const std::vector<int64_t> ext{4, 6, 4, 5};
  const double V = 4 * 6 * 4 * 5;
  for (int64_t N : {2, 3}) {
    std::vector<int64_t> q(N, 0), q2(N, 0);
    q[0] = 1, q[1] = -1;
    q2[0] = 1, q2[N - 1] = -1;
    for (auto [n01, n23] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {1, -2}, {2, 3}}) {
      auto U = abelian_flux_gauge_field(2, ext, N, {{0, 1, n01, q}, {2, 3, n23, q2}}, cplx());
      const double phi = flux_angle(n01, 4, 6), phi2 = flux_angle(n23, 4, 5);
      auto F01 = field_strength(U, 0, 1);
      auto sinH = torch::zeros({N, N}, cplx());
      double e_exact = 0, q_exact = 0, e_plaq = 0;
      for (int64_t j = 0; j < N; ++j) {
        sinH[j][j] = std::sin(phi * q[j]);
        e_exact += std::pow(std::sin(phi * q[j]), 2) + std::pow(std::sin(phi2 * q2[j]), 2);
        e_plaq += 2 * (1 - std::cos(phi * q[j])) + 2 * (1 - std::cos(phi2 * q2[j]));
        q_exact += V / (4 * M_PI * M_PI) * std::sin(phi * q[j]) * std::sin(phi2 * q2[j]);
      }
      EXPECT_LT(max_abs(F01 - sinH), 1e-13);
      EXPECT_LT(max_abs(energy_density_clover(U) - e_exact), 1e-13);
      EXPECT_LT(max_abs(energy_density_plaquette(U) - e_plaq), 1e-13);
      EXPECT_LT(max_abs(topological_charge(U) - q_exact), 1e-11) << "N=" << N << " n=" << n01 << "," << n23;
      // Continuum value n01 n23 Tr(H H'), approached as φ -> 0.
      const double integer = static_cast<double>(n01 * n23) * (N == 2 ? 2.0 : 1.0);
      EXPECT_NEAR(q_exact, integer, 0.25 * std::abs(integer));
    }
  }
  // The lattice charge tends to the integer as the lattice grows.
  auto big = abelian_flux_gauge_field(1, {12, 12, 12, 12}, 3, {{0, 1, 1, {1, -1, 0}}, {2, 3, 1, {1, 0, -1}}}, cplx());
  EXPECT_NEAR(topological_charge(big).item<double>(), 1.0, 1e-3);
}

class ObservableInvariance : public ::testing::TestWithParam<Geometry> {};

TEST_P(ObservableInvariance, GaugeAndTranslationInvariant) {
  const auto g = GetParam();
  auto U = rough_field(g, 41);
  auto gen = test_generator(42);
  auto omega = random_gauge_transformation(2, g.extents, g.n_colors, gen, cplx());
  auto V = gauge_transform(U, omega);
  std::vector<int64_t> d(g.extents.size(), 1);
  d[0] = 2;
  auto T = translate(U, d);
  auto check = [&](const std::function<torch::Tensor(const torch::Tensor&)>& f, const char* what) {
    EXPECT_LT(max_abs_diff(f(V), f(U)), 1e-12) << what;
    EXPECT_LT(max_abs_diff(f(T), f(U)), 1e-12) << what;
  };
  check(average_plaquette, "plaquette");
  check(plaquette_per_plane, "plaquette per plane");
  check([](const torch::Tensor& x) { return wilson_loop_per_plane(x, 1, 2); }, "W(1x2)");
  check([](const torch::Tensor& x) { return wilson_loop(x, 2, 2); }, "W(2x2)");
  for (int64_t mu = 0; mu < static_cast<int64_t>(g.extents.size()); ++mu)
    check([mu](const torch::Tensor& x) { return polyakov_loop(x, mu); }, "Polyakov");
  check([](const torch::Tensor& x) { return energy_density_clover(x).flatten(1).sum(1); }, "E clover");
  check([](const torch::Tensor& x) { return energy_density_plaquette(x).flatten(1).sum(1); }, "E plaquette");
  // Local densities are invariant site by site under gauge transformations.
  EXPECT_LT(max_abs_diff(energy_density_clover(V), energy_density_clover(U)), 1e-12);
  EXPECT_LT(max_abs_diff(wilson_loop_field(V, 0, 1, 2, 1), wilson_loop_field(U, 0, 1, 2, 1)), 1e-12);
  EXPECT_LT(max_abs_diff(wilson_loop_site_field(V, 1, 2), wilson_loop_site_field(U, 1, 2)), 1e-12);
  // The clover F is hermitian, traceless and covariant.
  auto F = field_strength(U, 0, 1);
  EXPECT_LT(max_abs_diff(F, dag(F)), 1e-14);
  EXPECT_LT(max_abs(color_trace(F)), 1e-13);
  EXPECT_LT(max_abs_diff(field_strength(V, 0, 1), gauge_transform_covariant(F, omega)), 1e-12);
  if (g.extents.size() == 4) check(topological_charge, "Q");
}

INSTANTIATE_TEST_SUITE_P(Geometries, ObservableInvariance, ::testing::ValuesIn(standard_geometries()), geometry_name);

TEST(ObservablesConsistency, PlaquetteIsOneByOneLoop) {
  auto U = rough_field({{4, 3, 4, 3}, 3}, 43);
  EXPECT_LT(max_abs_diff(wilson_loop(U, 1, 1), average_plaquette(U)), 1e-14);
  EXPECT_LT(max_abs_diff(wilson_loop_per_plane(U, 2, 1), wilson_loop_per_plane(U, 1, 2)), 1e-14);
}

TEST(ObservablesConsistency, SiteLoopFieldAveragesPlanesAndOrientations) {
  auto U = rough_field({{4, 3, 4}, 2}, 44);
  // its site average is the global loop average; by hand at each site:
  EXPECT_LT(max_abs_diff(wilson_loop_site_field(U, 1, 2).flatten(1).mean(1), wilson_loop(U, 1, 2)), 1e-14);
  torch::Tensor by_hand = torch::zeros_like(wilson_loop_field(U, 0, 1, 1, 2));
  for (auto [mu, nu] : planes(3)) by_hand += wilson_loop_field(U, mu, nu, 1, 2) + wilson_loop_field(U, mu, nu, 2, 1);
  EXPECT_LT(max_abs_diff(wilson_loop_site_field(U, 1, 2), by_hand / 6.0), 1e-14);
  // square loops are not double counted; the 1x1 loop in 2D is the plaquette at the site
  auto U2 = rough_field({{4, 3}, 3}, 45);
  EXPECT_LT(max_abs_diff(wilson_loop_site_field(U2, 2, 2), wilson_loop_field(U2, 0, 1, 2, 2)), 1e-15);
  EXPECT_LT(max_abs_diff(wilson_loop_site_field(U2, 1, 1).flatten(1).mean(1), average_plaquette(U2)), 1e-14);
}

TEST(ObservablesInput, ChargeNeedsFourDimensions) {
  auto U = cold_gauge_field(1, {4, 4, 4}, 2, cplx());
  EXPECT_THROW(topological_charge(U), std::invalid_argument);
  EXPECT_THROW(wilson_loop_field(U, 0, 0, 1, 1), std::invalid_argument);
  EXPECT_THROW(polyakov_loop(U, 3), std::invalid_argument);
}

TEST(ObservablesExact, FluxReferenceValuesMatchMeasurements) {
  // Several fluxes, one plane given in flipped orientation and one plane carrying two fluxes.
  const std::vector<int64_t> ext{4, 5, 6, 4};
  const int64_t N = 3;
  const std::vector<Flux> fluxes{
      {0, 1, 1, {1, -1, 0}}, {3, 2, 2, {1, 0, -1}}, {0, 2, 1, {0, 1, -1}}, {1, 3, -1, {}}, {0, 1, 1, {0, 1, -1}}};
  auto U = abelian_flux_gauge_field(1, ext, N, fluxes, cplx());
  auto p = plaquette_per_plane(U)[0];
  auto exact_p = abelian_flux_plaquette_per_plane(ext, N, fluxes);
  for (size_t i = 0; i < exact_p.size(); ++i) EXPECT_NEAR(p[i].item<double>(), exact_p[i], 1e-13) << "plane " << i;
  EXPECT_NEAR(wilson_loop_field(U, 2, 3, 2, 3).mean().item<double>(),
              abelian_flux_wilson_loop(ext, N, fluxes, 2, 3, 2, 3), 1e-13);
  EXPECT_LT(max_abs(energy_density_clover(U) - abelian_flux_energy_density(ext, N, fluxes)), 1e-12);
  EXPECT_NEAR(topological_charge(U).item<double>(), abelian_flux_topological_charge(ext, N, fluxes), 1e-11);
  // Continuum charge: Σ ε-signed n n' Tr(H H') over pairings; here (01)(23) gives (1·1·Tr(diag(1,-1,0)diag(1,0,-1)) +
  // 1·1·Tr(diag(0,1,-1) diag(1,0,-1))) · (-2) [orientation (3,2)] = -4, (02)(13) gives -(1 · -1 · Tr(diag(0,1,-1)
  // diag(1,-1,0))) = -1.
  EXPECT_NEAR(abelian_flux_continuum_charge(ext, N, fluxes), -5.0, 1e-12);
}
