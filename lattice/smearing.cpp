// Planar, diagonal and hyperdiagonal staple smearing (see smearing.h), vectorised by gather tables.
//
// With F_S the staple over the signed transverse set S averaged over orderings (F_∅ = U_μ), the mirrored paths obey
//   F_S(x) = (1/|S|) Σ_{s ∈ S} L_s(x) F_{S∖s}(x + s) L_s(x + μ̂)†,   L_{+ν}(x) = U_ν(x), L_{-ν}(x) = U_ν(x - ν̂)†.
// All (μ, S, s) terms of one level |S| = k are computed at once: three gathers from flattened fields and two
// matrix products, so the cost does not grow with the number of staples in torch-op count.
#include "lattice/smearing.h"

#include "lattice/kernels/mode.h"
#include "lattice/kernels/smear_fused.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"

#include <map>
#include <stdexcept>
#include <vector>

namespace blockspin::lattice {

namespace {

int64_t binomial(int64_t n, int64_t k) {
  if (k < 0 || k > n) return 0;
  int64_t r = 1;
  for (int64_t i = 1; i <= k; ++i) r = r * (n - k + i) / i;
  return r;
}

/// Gather tables for one level k: pairs (item, s) item-major; items (μ, S) μ-major.
struct Level {
  int64_t items_per_mu = 0;
  torch::Tensor step_channel;  ///< [P] channel s of the step links (term A, at x)
  torch::Tensor prev_index;    ///< [P·V] flat index into the previous level (term B, at x + s)
  torch::Tensor back_index;    ///< [P·V] flat index into the step links (term C, at x + μ̂)
};

struct Plan {
  std::vector<int64_t> extents;
  torch::Device device{torch::kCPU};
  int64_t V = 0;
  torch::Tensor back_step_index;  ///< [D·V]: flat index of U_ν(x - ν̂) in the flattened U, ν-major
  std::vector<Level> levels;      ///< k = 1, 2, 3 (levels[k-1])
};

/// Signed directions are s = 2ν (forward) or 2ν + 1 (backward). A set S is a sorted vector of them.
Plan build_plan(const std::vector<int64_t>& ext, torch::Device device) {
  Plan plan;
  plan.extents = ext;
  plan.device = device;
  const auto D = static_cast<int64_t>(ext.size());
  int64_t V = 1;
  for (auto e : ext) V *= e;
  plan.V = V;
  auto idx = torch::arange(V, torch::kLong).reshape(ext);
  std::vector<torch::Tensor> nb;  // nb[s]: flat index of x + s
  for (int64_t nu = 0; nu < D; ++nu) {
    nb.push_back(torch::roll(idx, {-1}, {nu}).flatten());
    nb.push_back(torch::roll(idx, {1}, {nu}).flatten());
  }
  auto nb_all = torch::stack(nb);  // [2D, V]
  {
    std::vector<torch::Tensor> b;
    for (int64_t nu = 0; nu < D; ++nu) b.push_back(nu * V + nb[2 * nu + 1]);
    plan.back_step_index = torch::cat(b).to(device);
  }
  // Items of the previous level: level 0 has one item per μ, the bare link (channel μ of U).
  std::map<std::pair<int64_t, std::vector<int64_t>>, int64_t> prev_items;
  for (int64_t mu = 0; mu < D; ++mu) prev_items[{mu, {}}] = mu;
  for (int64_t k = 1; k <= 3; ++k) {
    Level level;
    std::map<std::pair<int64_t, std::vector<int64_t>>, int64_t> items;
    std::vector<int64_t> step_channel, prev_item, shift_s, back_mu;
    for (int64_t mu = 0; mu < D; ++mu) {
      int64_t count = 0;
      for (const auto& S : staple_step_sets(D, mu, k)) {
        const auto item = static_cast<int64_t>(items.size());
        items[{mu, S}] = item;
        ++count;
        for (int64_t i = 0; i < k; ++i) {
          std::vector<int64_t> rest;
          for (int64_t j = 0; j < k; ++j)
            if (j != i) rest.push_back(S[j]);
          step_channel.push_back(S[i]);
          prev_item.push_back(prev_items.at({mu, rest}));
          shift_s.push_back(S[i]);
          back_mu.push_back(2 * mu);
        }
      }
      level.items_per_mu = count;
    }
    if (level.items_per_mu > 0) {
      auto opt = torch::TensorOptions().dtype(torch::kLong);
      auto prev = torch::tensor(prev_item, opt).unsqueeze(1);
      auto steps = torch::tensor(step_channel, opt);
      level.step_channel = steps.to(device);
      level.prev_index = (prev * V + nb_all.index_select(0, torch::tensor(shift_s, opt))).flatten().to(device);
      level.back_index =
          (steps.unsqueeze(1) * V + nb_all.index_select(0, torch::tensor(back_mu, opt))).flatten().to(device);
    }
    plan.levels.push_back(level);
    prev_items = std::move(items);
  }
  return plan;
}

/// The plan for the last geometry used on this thread (rebuilt when extents or device change).
const Plan& plan_for(const torch::Tensor& U) {
  thread_local Plan cached;
  thread_local bool valid = false;
  const auto ext = extents(U);
  if (!valid || cached.extents != ext || cached.device != U.device()) {
    cached = build_plan(ext, U.device());
    valid = true;
  }
  return cached;
}

/// Flattened-site gather: field [b, C, V, N, N] at flat indices (c·V + v) -> [b, P, V, N, N].
torch::Tensor gather(const torch::Tensor& flat, const torch::Tensor& index, int64_t V) {
  const int64_t b = flat.size(0), N = flat.size(-1);
  return flat.reshape({b, -1, N, N}).index_select(1, index).reshape({b, -1, V, N, N});
}

/// Level sums Σ_k for k = 1..k_max as [b, D, V, N, N] each (undefined where there are no staples).
std::vector<torch::Tensor> level_sums(const torch::Tensor& U, int64_t k_max) {
  check_gauge_field(U, "smear_links");
  const Plan& plan = plan_for(U);
  const int64_t b = batch_size(U), D = n_dims(U), N = n_colors(U), V = plan.V;
  auto U_flat = U.reshape({b, D, V, N, N});
  // Step links L_s: s = 2ν -> U_ν(x), s = 2ν+1 -> U_ν(x - ν̂)†.
  auto back = dag(gather(U_flat, plan.back_step_index, V));  // [b, D, V, N, N]
  auto L = torch::stack({U_flat, back}, 2).reshape({b, 2 * D, V, N, N});
  std::vector<torch::Tensor> sums;
  torch::Tensor prev = U_flat;
  for (int64_t k = 1; k <= k_max; ++k) {
    const Level& level = plan.levels[k - 1];
    if (level.items_per_mu == 0) break;
    auto A = L.index_select(1, level.step_channel);
    auto B = gather(prev, level.prev_index, V);
    auto C = gather(L, level.back_index, V);
    auto terms = mat_mul_dag(mat_mul(A, B), C);  // [b, P, V, N, N]
    auto F = terms.reshape({b, -1, k, V, N, N}).sum(2) / static_cast<double>(k);
    sums.push_back(F.reshape({b, D, level.items_per_mu, V, N, N}).sum(2));
    prev = F;
  }
  return sums;
}

}  // namespace

std::vector<std::vector<int64_t>> staple_step_sets(int64_t D, int64_t mu, int64_t k) {
  std::vector<int64_t> transverse;
  for (int64_t nu = 0; nu < D; ++nu)
    if (nu != mu) transverse.push_back(nu);
  const auto T = static_cast<int64_t>(transverse.size());
  std::vector<std::vector<int64_t>> sets;
  for (int64_t mask = 0; mask < (int64_t{1} << T); ++mask) {
    if (__builtin_popcountll(static_cast<unsigned long long>(mask)) != k) continue;
    std::vector<int64_t> dirs;
    for (int64_t i = 0; i < T; ++i)
      if (mask & (int64_t{1} << i)) dirs.push_back(transverse[i]);
    for (int64_t signs = 0; signs < (int64_t{1} << k); ++signs) {
      std::vector<int64_t> S;
      for (int64_t i = 0; i < k; ++i) S.push_back(2 * dirs[i] + ((signs >> i) & 1));
      sets.push_back(S);
    }
  }
  return sets;
}

int64_t n_staple_offsets(int64_t n_dims, int64_t k) { return (int64_t{1} << k) * binomial(n_dims - 1, k); }

double smearing_s0(const SmearingOptions& o, int64_t D) {
  return 1.0 -
         (static_cast<double>(n_staple_offsets(D, 1)) * o.s_pl + static_cast<double>(n_staple_offsets(D, 2)) * o.s_d +
          static_cast<double>(n_staple_offsets(D, 3)) * o.s_hd);
}

torch::Tensor smear_links(const torch::Tensor& U, const SmearingOptions& options) {
  check_gauge_field(U, "smear_links");
  if (kernels::mode() == kernels::Mode::fused && kernels::smear_fused_available(U))
    return kernels::smear_fused(U, options);
  return smear_links_reference(U, options);
}

torch::Tensor smear_links_reference(const torch::Tensor& U, const SmearingOptions& options) {
  const int64_t D = n_dims(U);
  const double weights[3] = {options.s_pl, options.s_d, options.s_hd};
  int64_t k_max = 0;
  for (int64_t k = 1; k <= 3; ++k)
    if (weights[k - 1] != 0.0 && n_staple_offsets(D, k) > 0) k_max = k;
  auto sums = level_sums(U, k_max);
  const int64_t b = batch_size(U), N = n_colors(U);
  auto S = smearing_s0(options, D) * U.reshape({b, D, -1, N, N});
  for (size_t k = 0; k < sums.size(); ++k)
    if (weights[k] != 0.0) S = S + weights[k] * sums[k];
  return S.reshape(U.sizes());
}

torch::Tensor staple_sum(const torch::Tensor& U, int64_t k) {
  if (k < 1 || k > 3) throw std::invalid_argument("staple_sum: k must be 1, 2 or 3, got " + std::to_string(k));
  auto sums = level_sums(U, k);
  if (static_cast<int64_t>(sums.size()) < k) return torch::zeros_like(U);
  return sums[k - 1].reshape(U.sizes());
}

}  // namespace blockspin::lattice
