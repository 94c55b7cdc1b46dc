// Tensor layouts of lattice fields: the one place where they are defined. Everything else uses these.
//
//   gauge links   U : [batch, mu, x_0, ..., x_{D-1}, N, N]      complex (kComplexDouble / kComplexFloat)
//   W objects     W : [batch, channel, x_0, ..., x_{D-1}, N, N] complex, transform as W(x) -> Ω(x) W(x) Ω(x)†
//   gauge transf. Ω : [batch, x_0, ..., x_{D-1}, N, N]          complex, SU(N)-valued
//   scalar fields φ : [batch, x_0, ..., x_{D-1}]                real
//   site scalars    : [batch, x_0, ..., x_{D-1}] (e.g. action densities), [batch, channel, x..] for several
//   Lie-algebra components: [..., N²-1] real, same leading dims as the matrices they stand for.
//
// Links and W objects share one structure, a "matrix field": two leading dims (batch, channel/mu), D site
// dims, two trailing matrix dims. A single direction U_mu is kept as a one-channel matrix field
// [batch, 1, x.., N, N] (see link()) so that it broadcasts against W objects with many channels.
//
// Boundaries are periodic in every direction; extents may differ per direction (not only hypercubic) and
// D >= 2 is arbitrary. Shifting by k sites along mu is torch::roll along site dim (2 + mu): shift(f, mu, k)
// returns f(x + k mu^). U_mu(x) connects x to x + mu^. Path-ordered products multiply left to right.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace blockspin::lattice {

/// Index of the first site dimension in a matrix field [batch, channel, x.., N, N].
constexpr int64_t kSiteDim0 = 2;
/// Index of the first site dimension in a scalar field [batch, x..].
constexpr int64_t kScalarSiteDim0 = 1;

/// Number of space-time dimensions D of a matrix field [batch, channel, x.., N, N].
inline int64_t n_dims(const torch::Tensor& field) { return field.dim() - 4; }
/// Colour number N of a matrix field.
inline int64_t n_colors(const torch::Tensor& field) { return field.size(-1); }
/// Batch size of any lattice field.
inline int64_t batch_size(const torch::Tensor& field) { return field.size(0); }

/// Site extents (x_0, ..., x_{D-1}) of a matrix field.
std::vector<int64_t> extents(const torch::Tensor& field);
/// Number of sites of a matrix field.
int64_t volume(const torch::Tensor& field);

/// Shape of a gauge field [batch, D, x.., N, N].
std::vector<int64_t> gauge_shape(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors);

/// The link field U_mu as a one-channel matrix field [batch, 1, x.., N, N] (a view).
inline torch::Tensor link(const torch::Tensor& U, int64_t mu) { return U.narrow(1, mu, 1); }

/// f(x + k mu^) for a matrix field [batch, channel, x.., N, N] (periodic).
torch::Tensor shift(const torch::Tensor& field, int64_t mu, int64_t k = 1);
/// phi(x + k mu^) for a scalar field [batch, x..] (periodic).
torch::Tensor shift_scalar(const torch::Tensor& phi, int64_t mu, int64_t k = 1);

/// Throws std::invalid_argument unless `U` is a gauge field: complex, [batch, D, x.., N, N] with D >= 2,
/// size(1) == D, N >= 2, positive extents. `what` names the argument in the message.
void check_gauge_field(const torch::Tensor& U, const char* what = "gauge field");
/// Throws unless `W` is a matrix field [batch, channel, x.., N, N] of complex dtype.
void check_matrix_field(const torch::Tensor& W, const char* what = "matrix field");

/// The complex dtype matching a real one (float -> complex64, double -> complex128) and back.
torch::Dtype complex_dtype(torch::Dtype real);
torch::Dtype real_dtype(torch::Dtype complex);

/// Ordered list of the D(D-1)/2 planes (mu, nu), mu < nu, in the order used for per-plane results.
std::vector<std::pair<int64_t, int64_t>> planes(int64_t n_dims);

}  // namespace blockspin::lattice
