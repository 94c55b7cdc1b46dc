// Blocked links, plain RG blocking and the blocking kernel (see blocking.h).
#include "lattice/blocking.h"

#include "lattice/kernels/mode.h"
#include "lattice/kernels/smear_fused.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n_check.h"
#include "lattice/su_n_maximiser.h"

#include <sstream>
#include <stdexcept>

namespace blockspin::lattice {

torch::Tensor block_links(const torch::Tensor& U, const SmearingOptions& smearing) {
  check_gauge_field(U, "block_links");
  const int64_t D = n_dims(U);
  const auto ext = extents(U);
  for (int64_t mu = 0; mu < D; ++mu) {
    if (ext[mu] % 2 != 0) {
      std::ostringstream msg;
      msg << "block_links: blocking by 2 needs even extents, but direction " << mu << " has odd extent " << ext[mu];
      throw std::invalid_argument(msg.str());
    }
  }
  // Only S_μ(2x_B) and S_μ(2x_B + μ̂) enter Q: the fused kernels compute just those.
  auto S = kernels::mode() == kernels::Mode::fused && kernels::smear_fused_available(U)
               ? kernels::smear_fused(U, smearing, /*blocked_sites_only=*/true)
               : smear_links(U, smearing);
  // Q_μ(x_B) = S_μ(2x_B) S_μ(2x_B + μ̂): the two factors by strided slices (no shifted copy, no products at the
  // other sites).
  std::vector<torch::Tensor> per_mu;
  for (int64_t mu = 0; mu < D; ++mu) {
    auto first = link(S, mu), second = link(S, mu);
    for (int64_t nu = 0; nu < D; ++nu) {
      first = first.slice(kSiteDim0 + nu, 0, c10::nullopt, 2);
      second = second.slice(kSiteDim0 + nu, nu == mu ? 1 : 0, c10::nullopt, 2);
    }
    per_mu.push_back(mat_mul(first, second));
  }
  auto Q = torch::cat(per_mu, 1);
  return Q;
}

torch::Tensor rg_block(const torch::Tensor& U, const BlockingOptions& options) {
  check_su_n(U, -1.0, "rg_block: fine field");
  return su_n_maximiser(block_links(U, options.smearing));
}

void check_coarse_shape(const torch::Tensor& U, const torch::Tensor& V, const char* what) {
  check_gauge_field(V, what);
  std::ostringstream msg;
  if (V.scalar_type() != U.scalar_type() || V.device() != U.device()) {
    msg << what << ": dtype/device " << V.dtype() << "/" << V.device() << " differ from the fine field's " << U.dtype()
        << "/" << U.device();
  } else if (V.dim() != U.dim() || V.size(0) != U.size(0) || V.size(-1) != U.size(-1)) {
    msg << what << ": shape " << V.sizes() << " does not match the fine field " << U.sizes();
  } else {
    for (int64_t d = 0; d < n_dims(U); ++d) {
      if (U.size(kSiteDim0 + d) != 2 * V.size(kSiteDim0 + d)) {
        msg << what << ": extent " << V.size(kSiteDim0 + d) << " in direction " << d << " is not half the fine extent "
            << U.size(kSiteDim0 + d);
        break;
      }
    }
  }
  if (!msg.str().empty()) throw std::invalid_argument(msg.str());
}

torch::Tensor blocking_kernel_from_blocked(const torch::Tensor& Q, const torch::Tensor& V, double kappa) {
  auto W = su_n_maximiser(Q);  // detached: envelope theorem
  const double factor = -kappa / static_cast<double>(n_colors(V));
  auto diff = re_trace_mm(V, dag(Q)) - re_trace_mm(W, dag(Q));  // [batch, D, x_B..]
  return factor * diff.flatten(1).sum(1);
}

torch::Tensor blocking_kernel(const torch::Tensor& U, const torch::Tensor& V, const BlockingOptions& options) {
  check_su_n(U, -1.0, "blocking_kernel: fine field U");
  auto Q = block_links(U, options.smearing);
  check_coarse_shape(U, V, "blocking_kernel: coarse field V");
  check_su_n(V, -1.0, "blocking_kernel: coarse field V");
  return blocking_kernel_from_blocked(Q, V, options.kappa);
}

}  // namespace blockspin::lattice
