// The channel products as a differentiable op (see channel_products.h).
#include "lattice/kernels/channel_products.h"

#include "lattice/kernels/lane_kernels.h"
#include "lattice/kernels/mode.h"
#include "lattice/matrix_ops.h"

#include <ATen/Parallel.h>

#include <sstream>
#include <stdexcept>

namespace blockspin::lattice::kernels {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

template <class T, int NC, bool DX, bool DY>
void run(const torch::Tensor& X, const torch::Tensor& Y, torch::Tensor& R, const ChannelPattern& p) {
  const int64_t n_blocks = X.size(2);
  const T* x = X.data_ptr<T>();
  const T* y = Y.data_ptr<T>();
  T* r = R.data_ptr<T>();
  at::parallel_for(0, X.size(0) * n_blocks, 1, [&](int64_t begin, int64_t end) {
    lanes::channel_products_range<T, NC, DX, DY>(x, y, r, p, n_blocks, begin, end);
  });
}

template <class T, int NC>
void run_dag(const torch::Tensor& X, const torch::Tensor& Y, torch::Tensor& R, const ChannelPattern& p, bool dx,
             bool dy) {
  if (dx && dy) return run<T, NC, true, true>(X, Y, R, p);
  if (dx) return run<T, NC, true, false>(X, Y, R, p);
  if (dy) return run<T, NC, false, true>(X, Y, R, p);
  run<T, NC, false, false>(X, Y, R, p);
}

torch::Tensor kernel(const torch::Tensor& X_, const torch::Tensor& Y_, const ChannelPattern& p, bool dx, bool dy) {
  const auto X = X_.detach().contiguous(), Y = Y_.detach().contiguous();
  auto R = torch::empty({X.size(0), p.channels(p.r), X.size(2), X.size(3), X.size(4)}, X.options());
  const bool su3 = X.size(3) == 18;
  if (X.scalar_type() == torch::kDouble) {
    if (su3)
      run_dag<double, 3>(X, Y, R, p, dx, dy);
    else
      run_dag<double, 2>(X, Y, R, p, dx, dy);
  } else {
    if (su3)
      run_dag<float, 3>(X, Y, R, p, dx, dy);
    else
      run_dag<float, 2>(X, Y, R, p, dx, dy);
  }
  return R;
}

/// Sites per block for a real dtype (lane_kernels.h).
int64_t lanes_of(torch::Dtype real) {
  return real == torch::kDouble ? lanes::lane_width<double>() : lanes::lane_width<float>();
}

ChannelPattern with(ChannelPattern p, ChannelIndex x, ChannelIndex y, ChannelIndex r) {
  p.x = x;
  p.y = y;
  p.r = r;
  return p;
}

struct ChannelProductsFn : public torch::autograd::Function<ChannelProductsFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& X, const torch::Tensor& Y, int64_t O,
                               int64_t K, int64_t classes, bool dx, bool dy);
  static variable_list backward(AutogradContext* ctx, variable_list grad);
};

// The pattern travels through apply() as (O, K, x + 3 y + 9 r).
ChannelPattern unpack(int64_t O, int64_t K, int64_t classes) {
  ChannelPattern p;
  p.O = O;
  p.K = K;
  p.x = static_cast<ChannelIndex>(classes % 3);
  p.y = static_cast<ChannelIndex>(classes / 3 % 3);
  p.r = static_cast<ChannelIndex>(classes / 9);
  return p;
}

int64_t pack(const ChannelPattern& p) {
  return static_cast<int64_t>(p.x) + 3 * static_cast<int64_t>(p.y) + 9 * static_cast<int64_t>(p.r);
}

torch::Tensor products(const torch::Tensor& X, const torch::Tensor& Y, const ChannelPattern& p, bool dx, bool dy) {
  return ChannelProductsFn::apply(X, Y, p.O, p.K, pack(p), dx, dy);
}

torch::Tensor ChannelProductsFn::forward(AutogradContext* ctx, const torch::Tensor& X, const torch::Tensor& Y,
                                         int64_t O, int64_t K, int64_t classes, bool dx, bool dy) {
  ctx->save_for_backward({X, Y});
  ctx->saved_data["O"] = O;
  ctx->saved_data["K"] = K;
  ctx->saved_data["classes"] = classes;
  ctx->saved_data["dx"] = dx;
  ctx->saved_data["dy"] = dy;
  return kernel(X, Y, unpack(O, K, classes), dx, dy);
}

variable_list ChannelProductsFn::backward(AutogradContext* ctx, variable_list grad) {
  const auto s = ctx->get_saved_variables();
  const auto &X = s[0], &Y = s[1];
  const auto p = unpack(ctx->saved_data["O"].toInt(), ctx->saved_data["K"].toInt(), ctx->saved_data["classes"].toInt());
  const bool dx = ctx->saved_data["dx"].toBool(), dy = ctx->saved_data["dy"].toBool();
  const auto G = grad[0].contiguous();
  torch::Tensor gX, gY;
  // Z = P Q with P = op(X), Q = op(Y): P gets G Q†, Q gets P† G; a daggered operand gets the dagger of that.
  if (ctx->needs_input_grad(0))
    gX = dx ? products(Y, G, with(p, p.y, p.r, p.x), dy, true) : products(G, Y, with(p, p.r, p.y, p.x), false, !dy);
  if (ctx->needs_input_grad(1))
    gY = dy ? products(G, X, with(p, p.r, p.x, p.y), true, dx) : products(X, G, with(p, p.x, p.r, p.y), !dx, false);
  return {gX, gY, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
}

}  // namespace

bool channel_products_available(const torch::Tensor& W) {
  if (!W.defined() || !W.device().is_cpu() || W.dim() < 4) return false;
  const auto t = W.scalar_type();
  if (t != torch::kComplexDouble && t != torch::kComplexFloat) return false;
  return W.size(-1) == W.size(-2) && (W.size(-1) == 2 || W.size(-1) == 3);
}

torch::Tensor to_planes(const torch::Tensor& W) {
  const int64_t B = W.size(0), C = W.size(1), N = W.size(-1), P = 2 * N * N;
  const int64_t L = lanes_of(W.scalar_type() == torch::kComplexDouble ? torch::kDouble : torch::kFloat);
  auto sites = torch::view_as_real(W.resolve_conj()).reshape({B, C, -1, P});  // [B, C, V, 2N²]
  const int64_t V = sites.size(2), pad = (L - V % L) % L;
  if (pad > 0) sites = torch::constant_pad_nd(sites, {0, 0, 0, pad});
  return sites.view({B, C, (V + pad) / L, L, P}).transpose(3, 4).contiguous();
}

torch::Tensor from_planes(const torch::Tensor& planes, at::IntArrayRef shape) {
  const int64_t B = planes.size(0), C = planes.size(1), N = shape.back();
  int64_t V = 1;
  for (size_t d = 2; d + 2 < shape.size(); ++d) V *= shape[d];
  auto sites = planes.transpose(3, 4).reshape({B, C, -1, 2 * N * N});  // [B, C, padded V, 2N²]
  if (sites.size(2) != V) sites = sites.narrow(2, 0, V);
  return torch::view_as_complex(sites.contiguous().view({B, C, V, N, N, 2})).view(shape);
}

torch::Tensor channel_products(const torch::Tensor& X, const torch::Tensor& Y, const ChannelPattern& p, bool dag_x,
                               bool dag_y) {
  auto fail = [&](const std::string& what) {
    std::ostringstream msg;
    msg << "channel_products: " << what << " (X " << X.sizes() << ", Y " << Y.sizes() << ", O = " << p.O
        << ", K = " << p.K << ")";
    throw std::invalid_argument(msg.str());
  };
  if (X.dim() != 5 || Y.dim() != 5) fail("X and Y must be blocked planes [B, C, n_blocks, 2N², W]");
  if (X.scalar_type() != Y.scalar_type() || (X.scalar_type() != torch::kDouble && X.scalar_type() != torch::kFloat))
    fail("X and Y must both be float or both double");
  if (!X.device().is_cpu() || !Y.device().is_cpu()) fail("CPU only");
  if (X.size(0) != Y.size(0) || X.size(2) != Y.size(2) || X.size(3) != Y.size(3) || X.size(4) != Y.size(4))
    fail("batch, planes or sites differ");
  if (X.size(3) != 8 && X.size(3) != 18) fail("2N² planes with N = 2 or 3 expected");
  if (X.size(4) != lanes_of(X.scalar_type())) fail("blocks of another lane width (not made by to_planes)");
  if (X.size(1) != p.channels(p.x) || Y.size(1) != p.channels(p.y)) fail("channel counts do not match the pattern");
  return products(X, Y, p, dag_x, dag_y);
}

torch::Tensor channel_products_field(const torch::Tensor& X, const torch::Tensor& Y, const ChannelPattern& p,
                                     bool dag_x, bool dag_y) {
  if (X.dim() < 5 || Y.dim() != X.dim() || X.size(0) != Y.size(0) || X.size(1) != p.channels(p.x) ||
      Y.size(1) != p.channels(p.y)) {
    std::ostringstream msg;
    msg << "channel_products: expected X [B, " << p.channels(p.x) << ", x.., N, N] and Y [B, " << p.channels(p.y)
        << ", x.., N, N] for O = " << p.O << ", K = " << p.K << "; got " << X.sizes() << " and " << Y.sizes();
    throw std::invalid_argument(msg.str());
  }
  auto shape = X.sizes().vec();
  shape[1] = p.channels(p.r);
  if (mode() == Mode::fused && channel_products_available(X) && Y.scalar_type() == X.scalar_type() &&
      Y.device().is_cpu())
    return from_planes(channel_products(to_planes(X), to_planes(Y), p, dag_x, dag_y), shape);
  // The torch statement: [B, O or 1, K or 1, x.., N, N] views, one broadcast product, the sum over the missing index.
  auto grid = [&](const torch::Tensor& T, ChannelIndex c, bool dag) {
    auto g = c == ChannelIndex::o   ? T.unsqueeze(2)
             : c == ChannelIndex::k ? T.unsqueeze(1)
                                    : [&] {
                                        auto s = T.sizes().vec();
                                        s[1] = p.K;
                                        s.insert(s.begin() + 1, p.O);
                                        return T.reshape(s);
                                      }();
    return dag ? lattice::dag(g) : g;
  };
  auto P = lattice::mat_mul(grid(X, p.x, dag_x), grid(Y, p.y, dag_y));
  auto full = P.sizes().vec();
  full[1] = p.O;
  full[2] = p.K;
  P = P.expand(full);  // [B, O, K, x.., N, N] (an operand pair indexed by o only, or k only, broadcasts)
  if (p.r == ChannelIndex::o) return P.sum(2);
  if (p.r == ChannelIndex::k) return P.sum(1);
  return P.reshape(shape);
}

}  // namespace blockspin::lattice::kernels
