// Tests of the SU(N) algebra: generators, exp map, projections, random elements.
#include "test_helpers.h"

#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <cmath>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

class SuN : public ::testing::TestWithParam<int64_t> {};

TEST_P(SuN, GeneratorsAreHermitianTracelessAndNormalised) {
  const int64_t N = GetParam();
  auto t = generators(N, cplx());
  ASSERT_EQ(t.size(0), N * N - 1);
  EXPECT_LT(max_abs_diff(t, dag(t)), 1e-15);
  EXPECT_LT(max_abs(color_trace(t)), 1e-15);
  // Tr(t^a t^b) = δ_ab / 2
  auto gram = torch::einsum("aij,bji->ab", {t, t});
  EXPECT_LT(max_abs_diff(gram, 0.5 * torch::eye(N * N - 1, cplx())), 1e-14);
}

TEST_P(SuN, AlgebraMapsAreInverse) {
  const int64_t N = GetParam();
  auto gen = test_generator(11);
  auto c = random_algebra({3, 5}, N, gen, real());
  auto X = algebra_to_matrix(c, N);
  EXPECT_LT(max_abs_diff(X, -dag(X)), 1e-15);                             // anti-hermitian
  EXPECT_LT(max_abs(color_trace(X)), 1e-14);                              // traceless
  EXPECT_LT(max_abs_diff(matrix_to_algebra(X), c), 1e-13);                // round trip
  EXPECT_LT(max_abs_diff(project_traceless_antihermitian(X), X), 1e-15);  // TA projection is idempotent
  // The components of a general matrix are those of its TA part.
  auto M = torch::randn({4, N, N}, gen, cplx());
  EXPECT_LT(max_abs_diff(matrix_to_algebra(M), matrix_to_algebra(project_traceless_antihermitian(M))), 1e-13);
}

TEST_P(SuN, ExpLandsInSuN) {
  const int64_t N = GetParam();
  auto gen = test_generator(12);
  auto c = 3.0 * random_algebra({64}, N, gen, real());  // large algebra elements
  auto U = su_exp(algebra_to_matrix(c, N));
  EXPECT_LT(max_abs_diff(dag_mat_mul(U, U), torch::eye(N, cplx()).expand_as(U)), 1e-13);
  EXPECT_LT(max_abs(torch::linalg_det(U) - 1.0), 1e-13);
  EXPECT_LT(su_n_violation(U).max().item<double>(), 1e-13);
}

TEST_P(SuN, ProjectionIsIdempotentAndFixesSuN) {
  const int64_t N = GetParam();
  auto gen = test_generator(13);
  auto M = torch::randn({50, N, N}, gen, cplx());
  auto P = project_su_n(M);
  EXPECT_LT(su_n_violation(P).max().item<double>(), 1e-13);
  EXPECT_LT(max_abs_diff(project_su_n(P), P), 1e-13);
  // An SU(N) element is left alone; a slightly perturbed one comes back close to it.
  auto U = random_su_n({50}, N, gen, cplx());
  EXPECT_LT(max_abs_diff(project_su_n(U), U), 1e-13);
  auto noisy = U + 1e-6 * torch::randn({50, N, N}, gen, cplx());
  EXPECT_LT(max_abs_diff(project_su_n(noisy), U), 1e-5);
  // Projection commutes with multiplication by SU(N) elements (it is the polar factor + phase fix).
  auto V = random_su_n({50}, N, gen, cplx());
  EXPECT_LT(max_abs_diff(project_su_n(mat_mul(V, M)), mat_mul(V, P)), 1e-12);
}

TEST_P(SuN, HaarMomentsAreExact) {
  // For Haar-random SU(N): <Tr U> = 0 and <|Tr U|^2> = 1 (N >= 2). Check within 5 sigma.
  const int64_t N = GetParam();
  auto gen = test_generator(14);
  const int64_t n = 20000;
  auto U = random_su_n({n}, N, gen, cplx());
  EXPECT_LT(su_n_violation(U).max().item<double>(), 1e-13);
  auto tr = color_trace(U);
  auto abs2 = tr.abs().pow(2);
  const double mean_abs2 = abs2.mean().item<double>();
  const double err_abs2 = abs2.std().item<double>() / std::sqrt(static_cast<double>(n));
  EXPECT_NEAR(mean_abs2, 1.0, 5 * err_abs2);
  const double err_tr = std::sqrt(1.0 / (2.0 * n));  // Var(Re Tr U) = 1/2
  EXPECT_NEAR(torch::real(tr).mean().item<double>(), 0.0, 5 * err_tr);
  EXPECT_NEAR(torch::imag(tr).mean().item<double>(), 0.0, 5 * err_tr);
}

TEST_P(SuN, NearIdentityIsClose) {
  const int64_t N = GetParam();
  auto gen = test_generator(15);
  auto U = random_su_n_near_identity({100}, N, 1e-3, gen, cplx());
  EXPECT_LT(su_n_violation(U).max().item<double>(), 1e-13);
  EXPECT_LT(max_abs_diff(U, torch::eye(N, cplx()).expand_as(U)), 1e-2);
  EXPECT_GT(max_abs_diff(U, torch::eye(N, cplx()).expand_as(U)), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Groups, SuN, ::testing::Values(2, 3, 4, 5));

TEST(SuNConventions, PauliAndGellMann) {
  auto t2 = generators(2, cplx());
  using c = c10::complex<double>;
  auto sigma2 = torch::tensor({c(0, 0), c(0, -1), c(0, 1), c(0, 0)}, cplx()).view({2, 2});
  auto sigma3 = torch::tensor({c(1, 0), c(0, 0), c(0, 0), c(-1, 0)}, cplx()).view({2, 2});
  EXPECT_LT(max_abs_diff(t2[1], 0.5 * sigma2), 1e-15);
  EXPECT_LT(max_abs_diff(t2[2], 0.5 * sigma3), 1e-15);
  auto t3 = generators(3, cplx());
  auto lambda8 = torch::diag(torch::tensor({c(1, 0), c(1, 0), c(-2, 0)}, cplx())) / std::sqrt(3.0);
  EXPECT_LT(max_abs_diff(t3[7], 0.5 * lambda8), 1e-15);
  auto lambda5 = torch::zeros({3, 3}, cplx());
  lambda5[0][2] = c(0, -1);
  lambda5[2][0] = c(0, 1);
  EXPECT_LT(max_abs_diff(t3[4], 0.5 * lambda5), 1e-15);
}

TEST(SuNConventions, InvalidNThrows) {
  EXPECT_THROW(generators(1, cplx()), std::invalid_argument);
  auto gen = test_generator(1);
  EXPECT_THROW(random_su_n({2}, 1, gen, cplx()), std::invalid_argument);
}

TEST(SuNConventions, SinglePrecisionWorks) {
  auto gen = test_generator(16);
  auto U = random_su_n({10}, 3, gen, cplx().dtype(torch::kComplexFloat));
  EXPECT_EQ(U.scalar_type(), torch::kComplexFloat);
  EXPECT_LT(su_n_violation(U).max().item<double>(), 1e-5);
  auto c = matrix_to_algebra(U);
  EXPECT_EQ(c.scalar_type(), torch::kFloat);
}
