// Fused staple smearing: level tables, the lane passes in order, the autograd Function (see smear_fused.h).
#include "lattice/kernels/smear_fused.h"

#include "lattice/kernels/lane_support.h"
#include "lattice/kernels/smear_lanes.h"
#include "lattice/layout.h"

#include <ATen/Parallel.h>

#include <map>
#include <array>
#include <memory>
#include <mutex>
#include <vector>

namespace blockspin::lattice::kernels {

namespace {

// The tables of one level (smear_lanes.h) and their storage.
struct LevelTables {
  int64_t k = 0, per_mu = 0, n_prev = 0;
  std::vector<int32_t> terms_s, terms_prev, rev_start, rev_item, rev_s;
  lanes::SmearLevel view() const {
    return {k, per_mu, n_prev, terms_s.data(), terms_prev.data(), rev_start.data(), rev_item.data(), rev_s.data()};
  }
};

// Levels k = 1, 2, 3 of D dimensions; items in the order of smearing.cpp's plan (μ, subsets of transverse
// directions by bitmask, then sign patterns). Levels without paths have per_mu = 0.
std::vector<LevelTables> build_levels(int64_t D) {
  std::vector<LevelTables> levels;
  std::map<std::pair<int64_t, std::vector<int32_t>>, int32_t> prev;  // (μ, S) -> item of the previous level
  for (int64_t mu = 0; mu < D; ++mu) prev[{mu, {}}] = static_cast<int32_t>(mu);
  int64_t n_prev = D;
  for (int64_t k = 1; k <= 3; ++k) {
    LevelTables lv;
    lv.k = k;
    lv.n_prev = n_prev;
    std::map<std::pair<int64_t, std::vector<int32_t>>, int32_t> items;
    std::vector<std::vector<std::pair<int32_t, int32_t>>> uses(static_cast<size_t>(n_prev));
    for (int64_t mu = 0; mu < D; ++mu) {
      int64_t count = 0;
      for (const auto& S64 : staple_step_sets(D, mu, k)) {
        const std::vector<int32_t> S(S64.begin(), S64.end());
        const auto item = static_cast<int32_t>(items.size());
        items[{mu, S}] = item;
        ++count;
        for (int64_t i = 0; i < k; ++i) {
          std::vector<int32_t> rest;
          for (int64_t j = 0; j < k; ++j)
            if (j != i) rest.push_back(S[j]);
          const int32_t R = prev.at({mu, rest});
          lv.terms_s.push_back(S[i]);
          lv.terms_prev.push_back(R);
          uses[static_cast<size_t>(R)].emplace_back(item, S[i]);
        }
      }
      lv.per_mu = count;
    }
    lv.rev_start.push_back(0);
    for (const auto& u : uses) {
      for (const auto& [item, s] : u) {
        lv.rev_item.push_back(item);
        lv.rev_s.push_back(s);
      }
      lv.rev_start.push_back(static_cast<int32_t>(lv.rev_item.size()));
    }
    n_prev = D * lv.per_mu;
    levels.push_back(std::move(lv));
    prev = std::move(items);
  }
  return levels;
}

const std::vector<LevelTables>& levels_for(int64_t D) {
  static std::mutex mutex;
  static std::map<int64_t, std::unique_ptr<std::vector<LevelTables>>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& entry = cache[D];
  if (!entry) entry = std::make_unique<std::vector<LevelTables>>(build_levels(D));
  return *entry;
}

// The highest level with a nonzero weight and paths (0: S = s0 U).
int64_t top_level(const std::vector<LevelTables>& levels, const std::array<double, 3>& w) {
  int64_t top = 0;
  for (int64_t k = 1; k <= 3; ++k)
    if (w[k - 1] != 0.0 && levels[k - 1].per_mu > 0) top = k;
  return top;
}

template <class T, class Fn>
void over_blocks(int64_t B, int64_t V, Fn&& fn) {
  at::parallel_for(0, lanes::lane_blocks(B, V, lanes::lane_width<T>()), kLaneGrain, fn);
}

template <class T, class Fn>
void over_tasks(const lanes::SiteLists& at, int64_t D, int64_t B, Fn&& fn) {
  at::parallel_for(0, lanes::list_tasks(at, D, B, lanes::lane_width<T>()), kLaneGrain, fn);
}

// The sites each level visits. All sites, or (blocked) for the blocked links only: S_μ is used at the sites with
// every transverse coordinate even (2x_B and 2x_B + μ̂), so level k's paths are needed where at most top − k
// transverse coordinates are odd (a transverse step changes one parity), and nowhere else.
struct LevelSites {
  std::vector<std::vector<int64_t>> sites;  // [(k·D + μ)] for k = 0 .. 3
  std::vector<uint8_t> odd;                 // per site: bit ν set if x_ν is odd
  lanes::SiteLists at(int64_t k, int64_t D) const {
    lanes::SiteLists l;
    for (int64_t mu = 0; mu < D; ++mu) {
      const auto& v = sites[static_cast<size_t>(k * D + mu)];
      l.sites[mu] = v.data();
      l.n[mu] = static_cast<int64_t>(v.size());
    }
    return l;
  }
};

LevelSites level_sites(const std::vector<int64_t>& ext, int64_t top, bool blocked) {
  const auto D = static_cast<int64_t>(ext.size());
  int64_t V = 1;
  for (auto e : ext) V *= e;
  LevelSites ls;
  ls.sites.resize(static_cast<size_t>(4 * D));
  std::vector<int64_t> stride(D, 1);
  for (int64_t mu = D - 2; mu >= 0; --mu) stride[mu] = stride[mu + 1] * ext[mu + 1];
  for (int64_t x = 0; x < V; ++x) {
    int64_t odd_total = 0;
    std::vector<int64_t> odd(D);
    uint8_t bits = 0;
    for (int64_t nu = 0; nu < D; ++nu) {
      odd_total += odd[nu] = ((x / stride[nu]) % ext[nu]) & 1;
      bits = static_cast<uint8_t>(bits | (odd[nu] << nu));
    }
    ls.odd.push_back(bits);
    for (int64_t k = 0; k <= 3; ++k)
      for (int64_t mu = 0; mu < D; ++mu)
        if (!blocked || odd_total - odd[mu] <= top - k) ls.sites[static_cast<size_t>(k * D + mu)].push_back(x);
  }
  return ls;
}

// Forward: S planes, and the level planes the backward needs (levels 1 .. top−1).
std::pair<torch::Tensor, std::vector<torch::Tensor>> forward_planes(const torch::Tensor& U, const torch::Tensor& Up,
                                                                    double s0, const std::array<double, 3>& w,
                                                                    bool blocked) {
  const int64_t B = batch_size(U), D = n_dims(U);
  const Neighbours nb(extents(U));
  const auto& levels = levels_for(D);
  const int64_t top = top_level(levels, w);
  const auto sites = level_sites(extents(U), top, blocked);
  auto S = Up * s0;
  std::vector<torch::Tensor> saved;
  dispatch_lanes(U, [&](auto real, auto nc) {
    using T = decltype(real);
    constexpr int NC = decltype(nc)::value;
    const lanes::Geometry g{nb.V, nb.D, nb.fwd.data(), nb.bwd.data()};
    const T* prev = Up.data_ptr<T>();
    for (int64_t k = 1; k <= top; ++k) {
      const auto lv = levels[k - 1].view();
      torch::Tensor items;
      if (k < top) items = torch::empty({B * D * lv.per_mu, 2 * NC * NC, nb.V}, Up.options());
      T* items_ptr = k < top ? items.data_ptr<T>() : nullptr;
      const auto at = sites.at(k, D);
      over_tasks<T>(at, D, B, [&](int64_t b0, int64_t b1) {
        lanes::smear_forward_range<T, NC>(Up.data_ptr<T>(), g, lv, at, prev, static_cast<T>(w[k - 1]), items_ptr,
                                          S.data_ptr<T>(), b0, b1);
      });
      if (k < top) {
        saved.push_back(items);
        prev = items.data_ptr<T>();
      }
    }
  });
  return {S, saved};
}

// Backward: the link gradient planes from the S gradient planes.
torch::Tensor backward_planes(const torch::Tensor& U, const torch::Tensor& Up, const std::vector<torch::Tensor>& saved,
                              const torch::Tensor& gS, double s0, const std::array<double, 3>& w, bool blocked) {
  const int64_t B = batch_size(U), D = n_dims(U);
  const Neighbours nb(extents(U));
  const auto& levels = levels_for(D);
  const int64_t top = top_level(levels, w);
  const auto sites = level_sites(extents(U), top, blocked);
  const int64_t P = Up.size(1), V = nb.V;
  auto gL = torch::zeros({B * D * 2 * D, P, V}, Up.options());
  auto gLC = torch::zeros({B * D * 2 * D, P, V}, Up.options());
  torch::Tensor from_next;  // gradient sent to the items of the level being processed
  dispatch_lanes(U, [&](auto real, auto nc) {
    using T = decltype(real);
    constexpr int NC = decltype(nc)::value;
    const lanes::Geometry g{nb.V, nb.D, nb.fwd.data(), nb.bwd.data()};
    for (int64_t k = top; k >= 1; --k) {
      const auto lv = levels[k - 1].view();
      const T* prev = k == 1 ? Up.data_ptr<T>() : saved[static_cast<size_t>(k - 2)].data_ptr<T>();
      // Written where the source pass goes; the target pass treats the rest as zero (no fill).
      auto G = torch::empty({B * D * lv.per_mu, P, V}, Up.options());
      const T* next = from_next.defined() ? from_next.data_ptr<T>() : nullptr;
      const auto at = sites.at(k, D), at_prev = sites.at(k - 1, D);
      over_tasks<T>(at, D, B, [&](int64_t b0, int64_t b1) {
        lanes::smear_backward_source_range<T, NC>(Up.data_ptr<T>(), g, lv, at, prev, gS.data_ptr<T>(),
                                                  static_cast<T>(w[k - 1]), next, G.data_ptr<T>(), gL.data_ptr<T>(),
                                                  gLC.data_ptr<T>(), b0, b1);
      });
      // Read by the next source pass where this pass writes; the links' share (k = 1) by assemble everywhere, which
      // this pass covers unless blocked with paths shorter than D − 1 steps: zeros there.
      auto to_prev = blocked && k == 1 && top < D - 1 ? torch::zeros({B * lv.n_prev, P, V}, Up.options())
                                                      : torch::empty({B * lv.n_prev, P, V}, Up.options());
      over_tasks<T>(at_prev, D, B, [&](int64_t b0, int64_t b1) {
        lanes::smear_backward_target_range<T, NC>(Up.data_ptr<T>(), g, lv, at_prev, G.data_ptr<T>(),
                                                  blocked ? sites.odd.data() : nullptr, top - k, to_prev.data_ptr<T>(),
                                                  b0, b1);
      });
      from_next = to_prev;
    }
    if (!from_next.defined()) from_next = torch::zeros_like(Up);
    auto out = torch::empty_like(Up);
    over_blocks<T>(B, V, [&](int64_t b0, int64_t b1) {
      lanes::smear_assemble_range<T, NC>(g, gS.data_ptr<T>(), static_cast<T>(s0), from_next.data_ptr<T>(),
                                         gL.data_ptr<T>(), gLC.data_ptr<T>(), out.data_ptr<T>(), b0, b1);
    });
    from_next = out;
  });
  return from_next;
}

std::array<double, 3> weights(const SmearingOptions& o) { return {o.s_pl, o.s_d, o.s_hd}; }

struct SmearFn : public torch::autograd::Function<SmearFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& U_in, double s_pl,
                               double s_d, double s_hd, bool blocked) {
    const auto U = U_in.detach().contiguous();
    const SmearingOptions o{s_pl, s_d, s_hd};
    const auto Up = lane_planes(U);
    auto [S, saved] = forward_planes(U, Up, smearing_s0(o, n_dims(U)), weights(o), blocked);
    saved.insert(saved.begin(), Up);
    saved.insert(saved.begin(), U_in);
    ctx->save_for_backward(saved);
    ctx->saved_data["w"] = std::vector<double>{s_pl, s_d, s_hd};
    ctx->saved_data["blocked"] = blocked;
    return from_lane_planes(S, U);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    auto saved = ctx->get_saved_variables();
    const auto U = saved[0];
    const auto wv = ctx->saved_data["w"].toDoubleVector();
    const SmearingOptions o{wv[0], wv[1], wv[2]};
    torch::Tensor gU;
    if (torch::GradMode::is_enabled()) {
      // Differentiable backward (create_graph): the torch path's vector-Jacobian product, with its graph.
      auto S = smear_links_reference(U, o);
      gU = torch::autograd::grad({S}, {U}, {grad[0]}, true, true, true)[0];
    } else {
      const std::vector<torch::Tensor> levels(saved.begin() + 2, saved.end());
      const auto gS = lane_planes(grad[0].contiguous());
      const bool blocked = ctx->saved_data["blocked"].toBool();
      gU =
          from_lane_planes(backward_planes(U, saved[1], levels, gS, smearing_s0(o, n_dims(U)), weights(o), blocked), U);
    }
    return {gU, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool smear_fused_available(const torch::Tensor& U) {
  return U.defined() && U.device().is_cpu() && U.dim() >= 6 && U.dim() <= 4 + lanes::kSmearMaxD &&
         (U.scalar_type() == torch::kComplexDouble || U.scalar_type() == torch::kComplexFloat) &&
         (n_colors(U) == 2 || n_colors(U) == 3);
}

torch::Tensor smear_fused(const torch::Tensor& U, const SmearingOptions& options, bool blocked_sites_only) {
  return SmearFn::apply(U, options.s_pl, options.s_d, options.s_hd, blocked_sites_only);
}

}  // namespace blockspin::lattice::kernels
