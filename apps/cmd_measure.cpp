// `blockspin measure --ensemble FILE --out DIR [--config C]`: observables of a gauge ensemble with Γ-method errors
// (chains as replicas): plaquette, Wilson loops, Polyakov loops, Wilson-flow t²⟨E⟩, the scales t0, w0, w0/√t0 (and
// t_c, √(t_c/t0) for flow.scales) and Q after flow. Writes DIR/measurements.json (the analysis) and DIR/measurements.h5
// (every observable per configuration).
#include "apps/command.h"
#include "run/run_directory.h"
#include "support/config.h"
#include "io/ensemble_file.h"
#include "io/gauge_files.h"
#include "io/gamma_json.h"
#include "apps/readers/lattice_config.h"
#include "io/h5io.h"
#include "support/atomic_file.h"
#include "support/format.h"
#include "support/progress.h"
#include "support/version.h"

#include "lattice/field_strength.h"
#include "lattice/gamma_method.h"
#include "lattice/gradient_flow.h"
#include "lattice/layout.h"
#include "lattice/observables.h"
#include "lattice/su_n_check.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using nlohmann::json;

/// Per-configuration measurements, grouped by chain (replica) in trajectory order.
using Series = std::map<int64_t, std::vector<double>>;

std::vector<std::vector<double>> replicas(const Series& s) {
  std::vector<std::vector<double>> r;
  for (const auto& [chain, v] : s) r.push_back(v);
  return r;
}

/// The ensemble's links must be SU(N) (as `convert` checks NERSC input): a damaged file is an input error, not a
/// silently wrong measurement. Tolerance: 1e-10 for double-precision runs, 1e-5 otherwise (float32 or imported data).
void validate_links(const Ensemble& e, const fs::path& path) {
  const bool double_run = e.config.is_object() && e.config.value("dtype", std::string()) == "float64";
  const double tol = double_run ? 1e-10 : 1e-5;
  for (int64_t i = 0; i < e.links.size(0); ++i) {
    try {
      L::check_su_n(e.links.narrow(0, i, 1), tol);
    } catch (const std::invalid_argument& err) {
      throw InputError(fmt::format("'{}': configuration {}: {}", path.string(), i, err.what()));
    }
  }
}

void run_measure(const CommonOptions& opt) {
  Config cfg =
      opt.config.empty() ? Config::from_json(json::object(), opt.overrides) : Config::load(opt.config, opt.overrides);
  const auto device = read_device(cfg);
  apply_kernels(cfg);
  const auto real = read_dtype(cfg);
  const auto batch = cfg.get<int64_t>("batch", 8, Check::positive());
  const auto loops = read_wilson_loops(cfg);
  auto flow = cfg.child("flow");
  const bool do_flow = flow.get<bool>("enabled", true);
  const double eps = flow.get<double>("eps", 0.05, Check::positive());
  const double t_max = flow.get<double>("t_max", 4.0, Check::positive());
  // flow.scales: further reference values c of t²⟨E⟩ = c, each giving t_c and √(t_c/t0) — ratios of flow scales at
  // smaller c probe shorter distances (larger lattice artefacts) and fit into small boxes where w0 does not.
  const auto scales = flow.get<std::vector<double>>("scales", {}, Check::positive());
  if (do_flow && t_max / eps > 1e5)
    throw ConfigError(
        fmt::format("config key 'flow.eps': t_max / eps = {:.3g} integration steps (at most 1e5; the "
                    "RK3 flow is accurate to O(eps³) at eps = 0.01-0.05)",
                    t_max / eps));
  cfg.check_unused();
  const fs::path ensemble_path = opt.extra.at("ensemble");
  const Ensemble e = read_any_ensemble(ensemble_path);
  validate_links(e, ensemble_path);
  const auto extents = L::extents(e.links);
  const int64_t smallest = *std::min_element(extents.begin(), extents.end());
  for (size_t i = 0; i < loops.size(); ++i)
    if (std::max(loops[i].first, loops[i].second) > smallest)
      throw ConfigError(
          fmt::format("config key 'wilson_loops[{}]': a {}x{} loop does not fit on the {} lattice of '{}'", i,
                      loops[i].first, loops[i].second, fmt::join(extents, "x"), ensemble_path.string()));
  if (config_checked(opt, cfg)) return;
  prepare_output_dir(opt.out, opt.force, false);
  const auto options = torch::TensorOptions().dtype(L::complex_dtype(real)).device(device);
  const int64_t n = e.links.size(0), D = e.links.size(1);
  spdlog::info("measure: {} configurations of {} from '{}'", n, fmt::join(extents, "x"), ensemble_path.string());

  // Order configurations by (chain, trajectory) so each chain is a time series.
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  auto chain = e.chain.accessor<int64_t, 1>();
  auto traj = e.trajectory.accessor<int64_t, 1>();
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return chain[a] != chain[b] ? chain[a] < chain[b] : traj[a] < traj[b]; });

  std::map<std::string, Series> scalar;
  std::map<std::string, std::vector<double>> per_config;  // in (chain, trajectory) order, for measurements.h5
  std::vector<double> t_grid;
  std::vector<Series> t2E;  // per flow time
  std::vector<torch::Tensor> t2E_rows;
  Progress progress("measure", "configurations", n);
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t count = std::min(batch, n - start);
    auto idx = torch::tensor(std::vector<int64_t>(order.begin() + start, order.begin() + start + count));
    auto U = e.links.index_select(0, idx).to(options);
    std::vector<std::pair<std::string, torch::Tensor>> obs{{"plaquette", L::average_plaquette(U)}};
    for (auto [m, k] : loops) obs.emplace_back(fmt::format("wilson_loop_{}x{}", m, k), L::wilson_loop(U, m, k));
    for (int64_t mu = 0; mu < D; ++mu)
      obs.emplace_back(fmt::format("polyakov_abs_{}", mu), L::polyakov_loop(U, mu).abs());
    if (do_flow) {
      auto h = L::wilson_flow(U, eps, t_max);
      t_grid = h.t;
      t2E.resize(h.t.size());
      std::vector<torch::Tensor> curve;
      for (size_t s = 0; s < h.t.size(); ++s) {
        for (int64_t b = 0; b < count; ++b) t2E[s][chain[order[start + b]]].push_back(h.t2E[s][b].item<double>());
        curve.push_back(h.t2E[s].to(torch::kCPU, torch::kDouble));
      }
      t2E_rows.push_back(torch::stack(curve, 1));  // [count, n_t]
      if (D == 4) {
        obs.emplace_back("topological_charge_flowed", h.charge.back());
        obs.emplace_back("topological_charge_flowed_squared", h.charge.back().pow(2));
      }
    }
    for (const auto& [name, value] : obs) {
      auto v = value.to(torch::kCPU, torch::kDouble);
      for (int64_t b = 0; b < count; ++b) {
        scalar[name][chain[order[start + b]]].push_back(v[b].item<double>());
        per_config[name].push_back(v[b].item<double>());
      }
    }
    progress.update(start + count);
  }

  // Every analysis that cannot be done (a constant series, t0 not reached) is reported as {"error": why}; the rest
  // is written all the same.
  json out{{"ensemble", ensemble_path.string()},
           {"n_configs", n},
           {"blockspin_version", BLOCKSPIN_VERSION},
           {"config", cfg.resolved()},
           {"error_analysis", "Gamma method (Wolff), chains as replicas, S = 1.5"},
           {"series", "measurements.h5: every observable per configuration in (chain, trajectory) order"}};
  for (const auto& [name, series] : scalar)
    out["observables"][name] = gamma_or_error([&] { return L::gamma_method(replicas(series)); });
  if (do_flow) {
    json curve = json::array();
    std::vector<std::vector<std::vector<double>>> data;
    for (size_t s = 0; s < t_grid.size(); ++s) {
      json point = gamma_or_error([&] { return L::gamma_method(replicas(t2E[s])); });
      curve.push_back({{"t", t_grid[s]}, {"t2E", point.value("mean", json())}, {"error", point["error"]}});
      data.push_back(replicas(t2E[s]));
    }
    out["flow"] = {{"eps", eps}, {"t_max", t_max}, {"t2E", curve}};
    std::vector<double> means;
    for (const auto& c : curve) means.push_back(c["t2E"].is_number() ? c["t2E"].get<double>() : std::nan(""));
    // Every flow scale (t0, w0, t_c) and ratio of scales is a derived quantity: a function of the *mean* curve, with
    // errors propagated through all grid points; `record` writes it, or {"error": why} when the curve does not get
    // there by t_max, and says which.
    using Scale = std::function<double(const std::vector<double>&)>;
    auto record = [&](const std::string& name, const Scale& scale, const std::string& unreached) {
      const bool reached = std::isfinite(scale(means));
      out["observables"][name] = reached ? gamma_or_error([&] { return L::gamma_method_derived(data, scale); })
                                         : json{{"error", fmt::format("{} up to t_max = {}", unreached, t_max)}};
      return reached;
    };
    auto flow_time = [&](double c) -> Scale {
      return [&, c](const std::vector<double>& m) { return L::flow_time_at(t_grid, m, c); };
    };
    const Scale t0_of = flow_time(0.3);
    const bool has_t0 = record("t0", t0_of, "t²⟨E⟩ does not reach 0.3");
    if (!has_t0) spdlog::warn("t²⟨E⟩ does not reach 0.3 up to t_max = {}: t0 not determined (raise flow.t_max)", t_max);
    // w0 (W = t d(t²E)/dt = 0.3 at t = w0²) and w0/√t0, the dimensionless ratio of two scales whose lattice artefacts
    // compare actions at matched t0/a².
    const Scale w0_of = [&](const std::vector<double>& m) { return std::sqrt(L::w0_squared_at(t_grid, m, 0.3)); };
    if (record("w0", w0_of, "t d(t²⟨E⟩)/dt does not reach 0.3") && has_t0)
      record(
          "w0_over_sqrt_t0", [&](const std::vector<double>& m) { return w0_of(m) / std::sqrt(t0_of(m)); }, "");
    for (const double c : scales) {
      const std::string name = fmt::format("t_{:g}", c);
      const Scale tc_of = flow_time(c);
      if (record(name, tc_of, fmt::format("t²⟨E⟩ does not reach {:g}", c)) && has_t0)
        record(
            "sqrt_" + name + "_over_t0", [&](const std::vector<double>& m) { return std::sqrt(tc_of(m) / t0_of(m)); },
            "");
    }
  }
  const fs::path dir = opt.out;
  write_h5_atomic(dir / "measurements.h5", "measurements", BLOCKSPIN_VERSION, [&](H5::H5File& f) {
    write_tensor(f, "chain", e.chain.index_select(0, torch::tensor(order)));
    write_tensor(f, "trajectory", e.trajectory.index_select(0, torch::tensor(order)));
    for (const auto& [name, v] : per_config) write_tensor(f, name, torch::tensor(v, torch::kDouble));
    if (do_flow) {
      write_tensor(f, "flow_t", torch::tensor(t_grid, torch::kDouble));
      write_tensor(f, "flow_t2E", torch::cat(t2E_rows));  // [n, n_t]
    }
    write_attribute(f, "ensemble", ensemble_path.string());
    write_attribute(f, "config", cfg.resolved().dump());
  });
  write_json_atomic(dir / "measurements.json", out);
  for (const auto& [name, r] : out["observables"].items()) {
    if (r.contains("mean"))
      fmt::print("{:<36} {:<20} (τ_int {:.2f})\n", name, with_error(r["mean"].get<double>(), r["error"].get<double>()),
                 r["tau_int"].get<double>());
    else
      fmt::print("{:<36} n/a: {}\n", name, r["error"].get<std::string>());
  }
  fmt::print("results written to {} and {}\n", (dir / "measurements.json").string(),
             (dir / "measurements.h5").string());
}

const CommandRegistrar measure_registrar{
    {"measure",
     "measure plaquette, Wilson and Polyakov loops, flowed t0 and Q of an ensemble, with "
     "Γ-method errors, into DIR/measurements.json",
     false,
     run_measure,
     {{"ensemble", "ensemble file written by `blockspin generate`, or a NERSC/ILDG/openQCD file or directory", true}},
     false}};

}  // namespace
}  // namespace blockspin::apps
