// Batched L-BFGS minimisation of A[U] + T[U, V] on the group manifold (see fp_minimise.h).
#include "lattice/fp_minimise.h"

#include <limits>

#include "lattice/hmc.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"
#include "lattice/su_n_check.h"

#include <deque>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace blockspin::lattice {

namespace {

/// Per-configuration inner product of two algebra fields [batch, ...] -> [batch].
torch::Tensor cfg_dot(const torch::Tensor& a, const torch::Tensor& b) { return (a * b).flatten(1).sum(1); }

/// Broadcasts a per-configuration tensor [batch] against a field of rank `dim`.
torch::Tensor per_config(const torch::Tensor& t, int64_t dim) {
  std::vector<int64_t> shape(dim, 1);
  shape[0] = t.size(0);
  return t.view(shape);
}

torch::Tensor grad_norm_of(const torch::Tensor& g) { return g.pow(2).sum(-1).sqrt().flatten(1).amax(1); }

/// exp(i Σ_a ε_a t^a) U for components ε [batch, D, x.., N²-1] (update_links: the fused link update where it runs).
torch::Tensor left_update(const torch::Tensor& U, const torch::Tensor& eps) { return update_links(U, eps, 1.0); }

struct Objective {
  const ActionFunctional& fine_action;
  const torch::Tensor& V;
  const BlockingOptions& blocking;

  torch::Tensor value(const torch::Tensor& U) const {
    return fine_action(U) + blocking_kernel_from_blocked(block_links(U, blocking.smearing), V, blocking.kappa);
  }
  /// Value [batch] and left-derivative components [batch, D, x.., N²-1].
  std::pair<torch::Tensor, torch::Tensor> value_and_gradient(const torch::Tensor& U) const {
    torch::AutoGradMode grad_mode(true);
    auto x = U.detach().requires_grad_(true);
    auto F = value(x);
    auto G = torch::autograd::grad({F.sum()}, {x}, {}, false, false, true)[0];
    if (!G.defined()) G = torch::zeros_like(x);
    auto D = matrix_to_algebra(-0.5 * project_traceless_antihermitian(mat_mul_dag(x.detach(), G)));
    return {F.detach(), D};
  }
};

}  // namespace

torch::Tensor unblock_start(const torch::Tensor& V) {
  check_gauge_field(V, "unblock_start");
  torch::NoGradGuard no_grad;
  const int64_t D = n_dims(V);
  auto R = project_su_n(V.detach() + identity_like(V));
  auto fine_shape = V.sizes().vec();
  for (int64_t d = 0; d < D; ++d) fine_shape[kSiteDim0 + d] *= 2;
  auto U = identity_like(V).expand(fine_shape).clone();
  for (int64_t mu = 0; mu < D; ++mu) {
    auto target = U.narrow(1, mu, 1);
    for (int64_t nu = 0; nu < D; ++nu)
      if (nu != mu) target = target.slice(kSiteDim0 + nu, 0, c10::nullopt, 2);
    target.copy_(link(R, mu).repeat_interleave(2, kSiteDim0 + mu));
  }
  return U;
}

torch::Tensor fp_derivative(const torch::Tensor& U, const torch::Tensor& V, const BlockingOptions& options) {
  auto Q = block_links(U, options.smearing);
  check_coarse_shape(U, V, "fp_derivative: coarse field V");
  // D_a = -(κ/N) Re Tr(i t^a M) with M = V Q†, and Re Tr(i t^a M) = -c_a/2 for c = matrix_to_algebra(M).
  return (options.kappa / (2.0 * static_cast<double>(n_colors(V)))) * matrix_to_algebra(mat_mul_dag(V, Q));
}

namespace {

// L-BFGS from the start in options.initial_guess (or the unblocked start).
FpResult minimise_from(const torch::Tensor& V_in, const ActionFunctional& fine_action,
                       const FpMinimiserOptions& options) {
  if (options.history < 1 || options.max_iterations < 0 || options.max_backtracks < 1 || options.stall_iterations < 0)
    throw std::invalid_argument(
        "fp_minimise: need history >= 1, max_iterations >= 0, max_backtracks >= 1, stall_iterations >= 0");
  torch::NoGradGuard no_grad;
  const auto V = V_in.detach();
  torch::Tensor U = options.initial_guess.defined() ? options.initial_guess.detach().clone() : unblock_start(V);
  check_coarse_shape(U, V, "fp_minimise: coarse field V");
  if (options.initial_guess.defined()) check_su_n(U, -1.0, "fp_minimise: initial_guess");
  const Objective objective{fine_action, V, options.blocking};
  const int64_t b = batch_size(V);
  const int64_t rank = U.dim() - 1;  // rank of the algebra fields [batch, D, x.., N²-1]
  const double eps_mach = V.scalar_type() == torch::kComplexFloat ? 1.2e-7 : 2.3e-16;

  auto [F, g] = objective.value_and_gradient(U);
  auto gn = grad_norm_of(g);
  auto real_opt = gn.options();
  auto converged = gn <= options.grad_tol;
  auto active = converged.logical_not();
  auto iterations = torch::zeros({b}, torch::TensorOptions().dtype(torch::kLong).device(V.device()));
  // The objective on the configurations in `rows` only (each configuration is independent): the others get the
  // placeholders F_keep / g_keep, which the caller never reads. A batch whose other members have converged, or whose
  // line search backtracks for one member, then costs the work of those members alone.
  auto evaluate = [&](const torch::Tensor& U_t, const torch::Tensor& rows, bool gradient, const torch::Tensor& F_keep,
                      const torch::Tensor& g_keep) -> std::pair<torch::Tensor, torch::Tensor> {
    const int64_t n = rows.sum().item<int64_t>();
    if (n == b) return gradient ? objective.value_and_gradient(U_t) : std::make_pair(objective.value(U_t), g_keep);
    if (n == 0) return {F_keep, g_keep};
    const auto idx = rows.nonzero().flatten();
    const auto V_rows = V.index_select(0, idx);
    const Objective sub{fine_action, V_rows, options.blocking};
    const auto U_rows = U_t.index_select(0, idx);
    if (!gradient) return {F_keep.index_copy(0, idx, sub.value(U_rows)), g_keep};
    auto [F_rows, g_rows] = sub.value_and_gradient(U_rows);
    return {F_keep.index_copy(0, idx, F_rows), g_keep.index_copy(0, idx, g_rows)};
  };
  auto resets_left = torch::full({b}, options.restarts, iterations.options());
  auto stall_reference = gn.clone();                 // the gradient norm at its last halving
  auto stall_since = torch::zeros_like(iterations);  // ... and the iteration it happened at
  std::deque<torch::Tensor> s_hist, y_hist, rho_hist;

  for (int64_t it = 0; it < options.max_iterations && active.any().item<bool>(); ++it) {
    // Two-loop recursion with per-configuration scalars; rho = 0 marks pairs a configuration does not use.
    const auto gamma_sd = options.max_step / gn.clamp_min(1e-300);
    auto q = g.clone();
    std::vector<torch::Tensor> alphas(s_hist.size());
    for (int64_t i = static_cast<int64_t>(s_hist.size()) - 1; i >= 0; --i) {
      alphas[i] = rho_hist[i] * cfg_dot(s_hist[i], q);
      q = q - per_config(alphas[i], rank) * y_hist[i];
    }
    auto gamma = gamma_sd;
    if (!s_hist.empty()) {
      auto yy = cfg_dot(y_hist.back(), y_hist.back()).clamp_min(1e-300);
      gamma = torch::where(rho_hist.back() > 0, cfg_dot(s_hist.back(), y_hist.back()) / yy, gamma_sd);
    }
    auto r = per_config(gamma, rank) * q;
    for (size_t i = 0; i < s_hist.size(); ++i) {
      auto beta = rho_hist[i] * cfg_dot(y_hist[i], r);
      r = r + per_config(alphas[i] - beta, rank) * s_hist[i];
    }
    auto p = -r;
    auto gp = cfg_dot(g, p);
    auto not_descent = gp >= 0;
    if (not_descent.any().item<bool>()) {  // fall back to steepest descent and forget the history
      p = torch::where(per_config(not_descent, rank), -per_config(gamma_sd, rank) * g, p);
      for (auto& rho : rho_hist) rho = torch::where(not_descent, torch::zeros_like(rho), rho);
      gp = cfg_dot(g, p);
    }
    p = p * per_config(active.to(p.scalar_type()), rank);

    // Backtracking line search, per configuration.
    auto t = torch::ones({b}, real_opt);
    auto accepted = active.logical_not();
    auto U_new = U;
    auto slack = 64.0 * eps_mach * (F.abs() + 1.0);
    // The full step is evaluated with its gradient: L-BFGS usually accepts it, and then that gradient is the next
    // iteration's (no second evaluation of the objective at the same point). Only configurations still searching are
    // evaluated.
    torch::Tensor F_full, g_full, full_ok = torch::zeros_like(active);
    for (int64_t k = 0; k < options.max_backtracks; ++k) {
      auto U_t = left_update(U, per_config(t, rank) * p);
      const auto searching = accepted.logical_not();
      torch::Tensor F_t;
      if (k == 0) {
        std::tie(F_full, g_full) = evaluate(U_t, searching, true, F, g);
        F_t = F_full;
      } else {
        F_t = evaluate(U_t, searching, false, F, g).first;
      }
      auto ok = (F_t <= F + options.armijo * t * gp + slack) & searching;
      if (k == 0) full_ok = ok;
      U_new = torch::where(per_config(ok, U.dim()), U_t, U_new);
      accepted = accepted | ok;
      if (accepted.all().item<bool>()) break;
      t = torch::where(accepted, t, 0.5 * t);
    }
    auto failed = active & accepted.logical_not();
    if (failed.any().item<bool>()) {
      // Clear the memory of failing configurations; give them up once their restarts are spent.
      for (auto& rho : rho_hist) rho = torch::where(failed, torch::zeros_like(rho), rho);
      auto give_up = failed & (resets_left <= 0);
      active = active & give_up.logical_not();
      resets_left = torch::where(failed, resets_left - 1, resets_left);
    }
    auto moved = active & accepted;
    iterations = iterations + active.to(torch::kLong);
    // Value and gradient at the new point: from the full step where it was accepted, evaluated for the others that
    // moved.
    auto [F_new, g_new] = evaluate(U_new, moved & full_ok.logical_not(), true, F_full, g_full);
    auto s = per_config(t * moved.to(t.scalar_type()), rank) * p;
    auto y = (g_new - g) * per_config(moved.to(g.scalar_type()), rank);
    auto sy = cfg_dot(s, y);
    auto rho = torch::where(moved & (sy > 1e-300), 1.0 / sy.clamp_min(1e-300), torch::zeros_like(sy));
    s_hist.push_back(s);
    y_hist.push_back(y);
    rho_hist.push_back(rho);
    if (static_cast<int64_t>(s_hist.size()) > options.history) {
      s_hist.pop_front();
      y_hist.pop_front();
      rho_hist.pop_front();
    }
    U = U_new;
    F = torch::where(moved, F_new, F);
    g = torch::where(per_config(moved, rank), g_new, g);
    gn = grad_norm_of(g);
    auto done = active & (gn <= options.grad_tol);
    converged = converged | done;
    active = active & done.logical_not();
    if (options.stall_iterations > 0) {
      const auto halved = gn <= 0.5 * stall_reference;
      stall_reference = torch::where(halved, gn, stall_reference);
      stall_since = torch::where(halved, torch::full_like(stall_since, it + 1), stall_since);
      active = active & (it + 1 - stall_since < options.stall_iterations);
    }
    if (options.on_iteration) {
      FpProgress pr;
      pr.iteration = it + 1;
      pr.max_iterations = options.max_iterations;
      pr.batch = b;
      pr.n_active = active.sum().item<int64_t>();
      pr.n_converged = converged.sum().item<int64_t>();
      pr.max_grad_norm = pr.n_active > 0 ? torch::where(active, gn, torch::zeros_like(gn)).max().item<double>() : 0.0;
      pr.objective = F.detach().to(torch::kCPU, torch::kDouble);
      options.on_iteration(pr);
    }
  }

  FpResult result;
  result.U = U;
  result.fine_action = fine_action(U).detach();
  result.kernel = blocking_kernel_from_blocked(block_links(U, options.blocking.smearing), V, options.blocking.kappa);
  result.action = result.fine_action + result.kernel;
  result.converged = converged;
  result.grad_norm = gn;
  result.iterations = iterations;
  result.derivative = fp_derivative(U, V, options.blocking);
  return result;
}

}  // namespace

FpResult fp_minimise(const torch::Tensor& V_in, const ActionFunctional& fine_action,
                     const FpMinimiserOptions& options) {
  check_su_n(V_in, -1.0, "fp_minimise: coarse field V");
  if (!options.alternative_start.defined() || options.start_policy == FpStartPolicy::unblocked)
    return minimise_from(V_in, fine_action, options);
  const auto V = V_in.detach();
  const int64_t b = batch_size(V);
  const auto mask = options.alternative_mask.defined() ? options.alternative_mask.to(torch::kCPU, torch::kBool)
                                                       : torch::ones({b}, torch::TensorOptions().dtype(torch::kBool));
  if (mask.dim() != 1 || mask.size(0) != b || options.alternative_start.size(0) != b)
    throw std::invalid_argument("fp_minimise: alternative_start and alternative_mask need one row per configuration");
  if (options.start_policy == FpStartPolicy::alternative) {
    auto o = options;
    const auto base = options.initial_guess.defined() ? options.initial_guess.detach() : unblock_start(V);
    std::vector<torch::Tensor> rows;
    for (int64_t k = 0; k < b; ++k)
      rows.push_back(mask[k].item<bool>() ? options.alternative_start.narrow(0, k, 1).to(base.options())
                                          : base.narrow(0, k, 1));
    o.initial_guess = torch::cat(rows);
    return minimise_from(V, fine_action, o);
  }
  FpResult r = minimise_from(V, fine_action, options);
  r.first_start_action = r.action.to(torch::kCPU, torch::kDouble).clone();
  r.alternative_action = torch::full({b}, std::numeric_limits<double>::quiet_NaN(), torch::kDouble);
  r.used_alternative = torch::zeros({b}, torch::TensorOptions().dtype(torch::kBool));
  r.start_derivative_msd = torch::full({b}, std::numeric_limits<double>::quiet_NaN(), torch::kDouble);
  for (int64_t k = 0; k < b; ++k) {
    if (!mask[k].item<bool>()) continue;
    auto o = options;
    o.initial_guess = options.alternative_start.narrow(0, k, 1).to(V.device());
    const auto alt = minimise_from(V.narrow(0, k, 1), fine_action, o);
    const double a0 = r.action[k].item<double>(), a1 = alt.action[0].item<double>();
    r.alternative_action[k] = a1;
    r.start_derivative_msd[k] = (alt.derivative[0] - r.derivative[k]).square().mean().item<double>();
    r.iterations[k].add_(alt.iterations[0]);  // the work of both starts
    if (!(a1 < a0 && alt.converged[0].item<bool>())) continue;
    r.used_alternative[k] = true;
    r.action[k].copy_(alt.action[0]);
    r.fine_action[k].copy_(alt.fine_action[0]);
    r.kernel[k].copy_(alt.kernel[0]);
    r.grad_norm[k].copy_(alt.grad_norm[0]);
    r.derivative[k].copy_(alt.derivative[0]);
    r.U[k].copy_(alt.U[0]);
    r.converged[k].copy_(alt.converged[0]);
  }
  return r;
}

}  // namespace blockspin::lattice
