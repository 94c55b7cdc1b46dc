// The lattice kernels registered as PyTorch operators, namespace `blockspin` (TORCH_LIBRARY), for Python users:
//
//   torch.ops.load_library("build/lib/libblockspin_ops.so")
//   S = torch.ops.blockspin.plaquette_deficit(U)        # Σ_x Σ_{μ<ν} (N − Re Tr P_μν) per configuration
//   A = torch.ops.blockspin.wilson_staples(U, mu)       # A_μ(x) (mu = -1: every direction)
//   F = torch.ops.blockspin.wilson_force(U, beta)       # dS_W/dU in algebra components (GaugeAction::derivative)
//   U2 = torch.ops.blockspin.link_update(U, p, eps)     # exp(ε p^a i t^a) U
//   S = torch.ops.blockspin.smear_links(U, 0.07, 0.016, 0.008)  # staple-smeared links (lattice/smearing.h)
//   Q = torch.ops.blockspin.block_links(U, 0.07, 0.016, 0.008)  # blocked links Q_μ(x_B) (lattice/blocking.h)
//   W = torch.ops.blockspin.su_n_maximiser(Q)           # argmax_{W ∈ SU(N)} Re Tr(W Q†) (not differentiated)
//   U2 = torch.ops.blockspin.overrelaxation_sweep(U, beta)  # one Wilson overrelaxation sweep (lattice/heatbath.h)
//   T = torch.ops.blockspin.transport(U_mu, W, mu, dir)  # U_μ(x) W(x+μ̂) U_μ(x)† (dir 1) or U_μ(x−μ̂)† W(x−μ̂) U_μ(x−μ̂)
//                                                       # (dir -1); U_mu [B, 1, x.., N, N], W [B, C, x.., N, N]
//   R = torch.ops.blockspin.channel_products(X, Y, O, K, "k,ok->o")  # R_o = Σ_k X_k Y_ok per site (the L-CNN
//                                                       # bilinear sum; "o,ok->k", "k,o->ok", ...; dag_x, dag_y)
//   torch.ops.blockspin.kernels_mode("torch")           # the torch reference path ("fused" is the default)
//
// Each op is the library function that the C++ side calls (lattice/gauge_action.h, lattice/hmc.h), so it takes the
// fused kernel where it can (CPU, complex64/128, no autograd needed) and the torch path otherwise. Autograd: the
// plaquette sum, the smeared/blocked links and the transport have analytic backwards on the fused path and double
// backward (the transport: any order); the
// others, when U requires grad, run on the differentiable torch path. U: [batch, D, x_0, .., x_{D-1}, N, N]
// (lattice/layout.h).
#include "lattice/blocking.h"
#include "lattice/gauge_action.h"
#include "lattice/heatbath.h"
#include "lattice/hmc.h"
#include "lattice/smearing.h"
#include "lattice/su_n_maximiser.h"
#include "lattice/kernels/channel_products.h"
#include "lattice/kernels/mode.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"

#include <torch/library.h>
#include <torch/torch.h>

namespace {

using blockspin::lattice::GaugeAction;
namespace kernels = blockspin::lattice::kernels;

// The Wilson action with β = N is Σ (N − Re Tr P) exactly (β c0 / N = 1).
GaugeAction unit_wilson(const torch::Tensor& U) {
  return GaugeAction::wilson(static_cast<double>(blockspin::lattice::n_colors(U)));
}

torch::Tensor plaquette_deficit(const torch::Tensor& U) { return unit_wilson(U)(U); }

torch::Tensor wilson_staples(const torch::Tensor& U, int64_t mu) {
  const auto action = unit_wilson(U);
  if (mu >= 0) return action.staples(U, mu);
  std::vector<torch::Tensor> per_mu;
  for (int64_t m = 0; m < blockspin::lattice::n_dims(U); ++m) per_mu.push_back(action.staples(U, m));
  return torch::cat(per_mu, 1);
}

torch::Tensor wilson_force(const torch::Tensor& U, double beta) { return GaugeAction::wilson(beta).derivative(U); }

torch::Tensor link_update(const torch::Tensor& U, const torch::Tensor& p, double eps) {
  return blockspin::lattice::update_links(U, p, eps);
}

torch::Tensor smear_links(const torch::Tensor& U, double s_pl, double s_d, double s_hd) {
  return blockspin::lattice::smear_links(U, {s_pl, s_d, s_hd});
}

torch::Tensor block_links(const torch::Tensor& U, double s_pl, double s_d, double s_hd) {
  return blockspin::lattice::block_links(U, {s_pl, s_d, s_hd});
}

torch::Tensor su_n_maximiser(const torch::Tensor& Q) { return blockspin::lattice::su_n_maximiser(Q); }

torch::Tensor overrelaxation_sweep(const torch::Tensor& U, double beta) {
  return blockspin::lattice::overrelaxation_sweep(U, GaugeAction::wilson(beta));
}

torch::Tensor transport(const torch::Tensor& U_mu, const torch::Tensor& W, int64_t mu, int64_t dir) {
  TORCH_CHECK(dir == 1 || dir == -1, "blockspin::transport: dir must be 1 or -1, got ", dir);
  TORCH_CHECK(U_mu.dim() == W.dim() && U_mu.dim() >= 6 && U_mu.size(1) == 1,
              "blockspin::transport: expected U_mu [B, 1, x.., N, N] and W [B, C, x.., N, N], got ", U_mu.sizes(),
              " and ", W.sizes());
  TORCH_CHECK(mu >= 0 && mu < W.dim() - 4, "blockspin::transport: mu must be in [0, ", W.dim() - 4, "), got ", mu);
  return blockspin::lattice::transport(U_mu, W, mu, static_cast<int>(dir));
}

// "x,y->r" with each of x, y, r one of o, k, ok (lattice/kernels/channel_products_lanes.h).
torch::Tensor channel_products(const torch::Tensor& X, const torch::Tensor& Y, int64_t O, int64_t K,
                               const std::string& pattern, bool dag_x, bool dag_y) {
  auto index = [&](const std::string& s) {
    TORCH_CHECK(s == "o" || s == "k" || s == "ok", "blockspin::channel_products: pattern \"", pattern,
                "\" must read x,y->r with each of x, y, r one of o, k, ok");
    return s == "o" ? kernels::ChannelIndex::o : s == "k" ? kernels::ChannelIndex::k : kernels::ChannelIndex::ok;
  };
  const auto comma = pattern.find(','), arrow = pattern.find("->");
  TORCH_CHECK(comma != std::string::npos && arrow != std::string::npos && comma < arrow,
              "blockspin::channel_products: pattern \"", pattern, "\" must read x,y->r");
  TORCH_CHECK(O >= 1 && K >= 1, "blockspin::channel_products: O and K must be >= 1, got ", O, " and ", K);
  kernels::ChannelPattern p;
  p.O = O;
  p.K = K;
  p.x = index(pattern.substr(0, comma));
  p.y = index(pattern.substr(comma + 1, arrow - comma - 1));
  p.r = index(pattern.substr(arrow + 2));
  try {
    return kernels::channel_products_field(X, Y, p, dag_x, dag_y);
  } catch (const std::invalid_argument& e) {
    TORCH_CHECK(false, "blockspin::", e.what());
  }
}

std::string kernels_mode(const std::string& name) {
  if (!name.empty()) kernels::set_mode(kernels::mode_from_name(name));
  return kernels::mode() == kernels::Mode::fused ? "fused" : "torch";
}

}  // namespace

TORCH_LIBRARY(blockspin, m) {
  m.def("plaquette_deficit(Tensor U) -> Tensor", &plaquette_deficit);
  m.def("wilson_staples(Tensor U, int mu=-1) -> Tensor", &wilson_staples);
  m.def("wilson_force(Tensor U, float beta) -> Tensor", &wilson_force);
  m.def("link_update(Tensor U, Tensor p, float eps) -> Tensor", &link_update);
  m.def("smear_links(Tensor U, float s_pl=0.07, float s_d=0.016, float s_hd=0.008) -> Tensor", &smear_links);
  m.def("block_links(Tensor U, float s_pl=0.07, float s_d=0.016, float s_hd=0.008) -> Tensor", &block_links);
  m.def("su_n_maximiser(Tensor Q) -> Tensor", &su_n_maximiser);
  m.def("overrelaxation_sweep(Tensor U, float beta) -> Tensor", &overrelaxation_sweep);
  m.def("transport(Tensor U_mu, Tensor W, int mu, int dir) -> Tensor", &transport);
  m.def("channel_products(Tensor X, Tensor Y, int O, int K, str pattern, bool dag_x=False, bool dag_y=False) -> Tensor",
        &channel_products);
  m.def("kernels_mode(str name=\"\") -> str", &kernels_mode);
}
