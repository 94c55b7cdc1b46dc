// Wilson-loop benchmark data: heatbath ensembles and per-site loop targets.
#include "apps/readers/wilson_loop_data.h"

#include "io/h5io.h"
#include "support/version.h"

#include "lattice/gauge_action.h"
#include "lattice/gauge_field.h"
#include "lattice/heatbath.h"
#include "lattice/layout.h"
#include "lattice/observables.h"
#include "lattice/rng.h"

#include <fmt/format.h>

#include <stdexcept>

namespace blockspin::apps {

namespace L = blockspin::lattice;

std::string shape_label(const std::vector<int64_t>& shape) { return fmt::format("{}", fmt::join(shape, "x")); }

torch::Tensor wilson_loop_targets(const torch::Tensor& U, const std::vector<std::pair<int64_t, int64_t>>& loops) {
  std::vector<torch::Tensor> t;
  for (auto [m, n] : loops) t.push_back(L::wilson_loop_site_field(U, m, n));
  return torch::stack(t, 1);
}

std::vector<LoopSet> generate_wilson_loop_data(const WilsonLoopDataOptions& o,
                                               const std::function<void(int64_t, int64_t)>& progress) {
  auto gen = L::make_generator(static_cast<uint64_t>(o.seed), o.device);
  const auto options = torch::TensorOptions().dtype(torch::kComplexDouble).device(o.device);
  L::HeatbathOptions hb;
  hb.or_steps = o.or_steps;

  struct Block {
    std::vector<int64_t> shape;
    int64_t n;
  };
  // Training and validation configurations come from the same chains' generator but are separate chains.
  std::vector<std::pair<std::string, Block>> plan{{"train", {o.train_shape, o.n_train}},
                                                  {"val", {o.train_shape, o.n_val}}};
  for (const auto& s : o.test_shapes) plan.push_back({"test_" + shape_label(s), {s, o.n_test}});
  const int64_t total = static_cast<int64_t>(plan.size() * o.betas.size());
  int64_t done = 0;
  std::vector<LoopSet> sets;
  for (const auto& [name, block] : plan) {
    std::vector<torch::Tensor> links, betas, targets;
    for (double beta : o.betas) {
      const auto action = L::GaugeAction::wilson(beta);
      L::check_heatbath_geometry(block.shape, action);
      auto U = L::hot_gauge_field(block.n, block.shape, o.N, gen, options);
      for (int64_t k = 0; k < o.n_therm; ++k) U = L::heatbath_update(U, action, hb, gen);
      links.push_back(U.cpu());
      betas.push_back(torch::full({block.n}, beta, torch::kDouble));
      targets.push_back(wilson_loop_targets(U, o.loops).cpu());
      if (progress) progress(++done, total);
    }
    sets.push_back({name, torch::cat(links), torch::cat(betas), torch::cat(targets)});
  }
  return sets;
}

void write_wilson_loop_data(const std::filesystem::path& path, const std::vector<LoopSet>& sets,
                            const nlohmann::json& config) {
  write_h5_atomic(path, "wilson_loop_data", BLOCKSPIN_VERSION, [&](H5::H5File& f) {
    for (const auto& s : sets) {
      H5::Group g = f.createGroup(s.name);
      write_tensor(g, "links", s.links);
      write_tensor(g, "beta", s.beta);
      write_tensor(g, "targets", s.targets);
      g.close();
    }
    write_attribute(f, "splits",
                    nlohmann::json([&] {
                      std::vector<std::string> names;
                      for (const auto& s : sets) names.push_back(s.name);
                      return names;
                    }())
                        .dump());
    write_attribute(f, "config", config.dump());
  });
}

std::vector<LoopSet> read_wilson_loop_data(const std::filesystem::path& path, const nlohmann::json& config) {
  H5::H5File f = open_h5(path, "wilson_loop_data");
  if (nlohmann::json::parse(read_string_attribute(f, "config")) != config)
    throw std::runtime_error("'" + path.string() + "' was generated with a different data config");
  std::vector<LoopSet> sets;
  for (const auto& name : nlohmann::json::parse(read_string_attribute(f, "splits")).get<std::vector<std::string>>()) {
    H5::Group g = f.openGroup(name);
    LoopSet s{name, read_tensor(g, "links"), read_tensor(g, "beta"), read_tensor(g, "targets")};
    const auto n = s.links.size(0);
    if (s.beta.dim() != 1 || s.beta.size(0) != n || s.targets.size(0) != n)
      throw std::runtime_error(fmt::format(
          "'{}': split '{}' has inconsistent sizes (links [{}], beta [{}], targets [{}])", path.string(), name,
          fmt::join(s.links.sizes(), ", "), fmt::join(s.beta.sizes(), ", "), fmt::join(s.targets.sizes(), ", ")));
    sets.push_back(std::move(s));
  }
  return sets;
}

}  // namespace blockspin::apps
