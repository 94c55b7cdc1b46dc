// The fused parallel transport as a differentiable op (see transport_fused.h).
#include "lattice/kernels/transport_fused.h"

#include "lattice/kernels/lane_kernels.h"
#include "lattice/kernels/lane_support.h"
#include "lattice/kernels/transport_loops.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"

#include <ATen/Parallel.h>

#include <vector>

namespace blockspin::lattice::kernels {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// The sites a pass reads (transport_loops.h): x + μ̂ for dir > 0, x − μ̂ for dir < 0 (periodic), for W's lattice.
const int64_t* neighbours(const Neighbours& nb, int64_t mu, int dir) {
  return (dir > 0 ? nb.fwd : nb.bwd).data() + mu * nb.V;
}

/// Runs `body(begin, end)` over the lane blocks of B configurations of V sites; grain: a few thousand matrix products.
template <class T, class F>
void over_blocks(int64_t B, int64_t V, int64_t C, F&& body) {
  const int64_t W = lanes::lane_width<T>();
  const int64_t grain = std::max<int64_t>(1, 2048 / (std::max<int64_t>(1, C) * W));
  at::parallel_for(0, lanes::lane_blocks(B, V, W), grain, body);
}

template <class T, int NC>
void run_transport(const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& W, torch::Tensor& out,
                   const int64_t* nb, int64_t V, int dir) {
  const int64_t C = W.size(1);
  const T* a = reinterpret_cast<const T*>(A.data_ptr());
  const T* b = reinterpret_cast<const T*>(B.data_ptr());
  const T* w = reinterpret_cast<const T*>(W.data_ptr());
  T* o = reinterpret_cast<T*>(out.data_ptr());
  over_blocks<T>(W.size(0), V, C,
                 [&](int64_t s, int64_t e) { loops::transport_range<T, NC>(a, b, w, o, nb, C, V, dir, s, e); });
}

template <class T, int NC>
void run_link_grad(const torch::Tensor& U, const torch::Tensor& P, const torch::Tensor& Q, torch::Tensor& out,
                   const int64_t* nb, int64_t V) {
  const int64_t B = P.size(0), C = P.size(1);
  const T* u = reinterpret_cast<const T*>(U.data_ptr());
  const T* p = reinterpret_cast<const T*>(P.data_ptr());
  const T* q = reinterpret_cast<const T*>(Q.data_ptr());
  T* o = reinterpret_cast<T*>(out.data_ptr());
  over_blocks<T>(B, V, C,
                 [&](int64_t b, int64_t e) { loops::transport_link_grad_range<T, NC>(u, p, q, o, nb, C, V, b, e); });
}

/// transport_range: the transport (B undefined: A = B = U_mu) or the symmetrised two-link form.
torch::Tensor transport_kernel(const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& W, int64_t mu,
                               int dir) {
  const auto a = dense(A);
  const auto b = B.defined() ? dense(B) : a;
  const auto w = dense(W);
  auto out = torch::empty_like(w);
  const Neighbours nb(extents(w));
  dispatch_lanes(w, [&](auto t, auto nc) {
    run_transport<decltype(t), decltype(nc)::value>(a, b, w, out, neighbours(nb, mu, dir), nb.V, dir);
  });
  return out;
}

torch::Tensor link_grad_kernel(const torch::Tensor& U_mu, const torch::Tensor& P, const torch::Tensor& Q, int64_t mu) {
  const auto U = dense(U_mu);
  const auto p = dense(P), q = dense(Q);
  auto out = torch::empty_like(U);
  const Neighbours nb(extents(p));
  dispatch_lanes(p, [&](auto t, auto nc) {
    run_link_grad<decltype(t), decltype(nc)::value>(U, p, q, out, neighbours(nb, mu, +1), nb.V);
  });
  return out;
}

/// L(U, P, Q) = Σ_c [P_c U R_c† + P_c† U R_c], R = Q(x + μ̂). Backward: by the fused loops, or, when it must itself be
/// differentiable (a third derivative), in closed form with torch ops.
struct LinkGradFn : public torch::autograd::Function<LinkGradFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& U_mu, const torch::Tensor& P,
                               const torch::Tensor& Q, int64_t mu) {
    ctx->save_for_backward({U_mu, P, Q});
    ctx->saved_data["mu"] = mu;
    return link_grad_kernel(U_mu, P, Q, mu);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const auto s = ctx->get_saved_variables();
    const auto &U = s[0], &P = s[1], &Q = s[2];
    const int64_t mu = ctx->saved_data["mu"].toInt();
    const auto& H = grad[0];
    torch::Tensor gU, gP, gQ;
    // Term P U R†: → P: H R U†, → U: P† H R, → R: H† P U. Term P† U R: → P: U R H†, → U: P H R†, → R: U† P H.
    if (!torch::GradMode::is_enabled()) {  // no higher derivative wanted: the same sums by the fused loops
      if (ctx->needs_input_grad(0)) gU = link_grad_kernel(H, P, Q, mu);  // L with U → H
      if (ctx->needs_input_grad(1)) gP = transport_kernel(H, U, Q, mu, +1);
      if (ctx->needs_input_grad(2)) gQ = transport_kernel(H, U, P, mu, -1);
      return {gU, gP, gQ, torch::Tensor()};
    }
    const auto R = shift(Q, mu, 1);
    if (ctx->needs_input_grad(0)) gU = (mat_mul(dag_mat_mul(P, H), R) + mat_mul_dag(mat_mul(P, H), R)).sum(1, true);
    if (ctx->needs_input_grad(1)) gP = mat_mul_dag(mat_mul(H, R), U) + mat_mul_dag(mat_mul(U, R), H);
    if (ctx->needs_input_grad(2)) gQ = shift(mat_mul(dag_mat_mul(H, P), U) + mat_mul(dag_mat_mul(U, P), H), mu, -1);
    return {gU, gP, gQ, torch::Tensor()};
  }
};

struct TransportFn : public torch::autograd::Function<TransportFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& U_mu, const torch::Tensor& W, int64_t mu,
                               int64_t dir) {
    ctx->save_for_backward({U_mu, W});
    ctx->saved_data["mu"] = mu;
    ctx->saved_data["dir"] = dir;
    return transport_kernel(U_mu, torch::Tensor(), W, mu, static_cast<int>(dir));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const auto s = ctx->get_saved_variables();
    const auto &U = s[0], &W = s[1];
    const int64_t mu = ctx->saved_data["mu"].toInt(), dir = ctx->saved_data["dir"].toInt();
    const auto& G = grad[0];
    torch::Tensor gU, gW;
    if (ctx->needs_input_grad(0)) gU = dir > 0 ? LinkGradFn::apply(U, G, W, mu) : LinkGradFn::apply(U, W, G, mu);
    if (ctx->needs_input_grad(1)) gW = TransportFn::apply(U, G, mu, -dir);
    return {gU, gW, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool transport_fused_available(const torch::Tensor& U_mu, const torch::Tensor& W) {
  if (!U_mu.defined() || !W.defined() || !U_mu.device().is_cpu() || !W.device().is_cpu()) return false;
  const auto t = W.scalar_type();
  if ((t != torch::kComplexDouble && t != torch::kComplexFloat) || U_mu.scalar_type() != t) return false;
  if (W.dim() < 6 || U_mu.dim() != W.dim() || U_mu.size(1) != 1 || U_mu.size(0) != W.size(0)) return false;
  for (int64_t d = 2; d < W.dim(); ++d)
    if (U_mu.size(d) != W.size(d)) return false;
  return W.size(-1) == W.size(-2) && (W.size(-1) == 2 || W.size(-1) == 3);
}

torch::Tensor transport_fused(const torch::Tensor& U_mu, const torch::Tensor& W, int64_t mu, int dir) {
  return TransportFn::apply(U_mu, W, mu, dir > 0 ? 1 : -1);
}

}  // namespace blockspin::lattice::kernels
