// `blockspin observe`: build gauge configurations (cold, hot, near-identity, constant flux), measure every
// observable of the lattice core on them, compare with exact values, and check gauge invariance and forces.
#include "apps/command.h"
#include "run/run_directory.h"
#include "support/config.h"
#include "apps/readers/lattice_config.h"
#include "support/atomic_file.h"
#include "support/format.h"
#include "support/version.h"

#include "lattice/abelian_flux.h"
#include "lattice/derivatives.h"
#include "lattice/field_strength.h"
#include "lattice/gamma_method.h"
#include "lattice/gauge_field.h"
#include "lattice/layout.h"
#include "lattice/observables.h"
#include "lattice/rng.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>

namespace blockspin::apps {
namespace {

using nlohmann::json;
namespace L = blockspin::lattice;

struct ConfigurationSpec {
  std::string name;
  std::string start;
  double epsilon = 0;
  std::vector<L::Flux> fluxes;
};

std::vector<L::Flux> read_fluxes(Config& c, int64_t D) {
  std::vector<L::Flux> fluxes;
  for (auto& f : c.children("fluxes")) {
    auto plane = f.require<std::vector<int64_t>>("plane");
    if (plane.size() != 2 || plane[0] == plane[1] || plane[0] < 0 || plane[1] < 0 || plane[0] >= D || plane[1] >= D)
      throw ConfigError("config key '" + f.key_path("plane") + "': expected two different directions in [0, " +
                        std::to_string(D) + ")");
    fluxes.push_back({plane[0], plane[1], f.require<int64_t>("n"), f.get<std::vector<int64_t>>("charges", {})});
  }
  return fluxes;
}

/// Mean and Γ-method error over the batch (independent configurations).
json stat(const torch::Tensor& per_config) {
  auto v = per_config.detach().to(torch::kCPU, torch::kDouble).contiguous();
  std::vector<double> x(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
  json j{{"values", x}};
  if (x.size() >= 2) {
    auto r = L::gamma_method(x);
    j["mean"] = r.value;
    j["error"] = r.error;
  } else {
    j["mean"] = x.at(0);
    j["error"] = nullptr;
  }
  return j;
}

/// Every gauge-invariant scalar of the lattice core, per configuration, as named tensors [batch].
std::vector<std::pair<std::string, torch::Tensor>> scalars(const torch::Tensor& U,
                                                           const std::vector<std::pair<int64_t, int64_t>>& loops,
                                                           const std::vector<L::GaugeAction>& actions) {
  const int64_t D = L::n_dims(U);
  const double V = static_cast<double>(L::volume(U));
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.emplace_back("plaquette", L::average_plaquette(U));
  auto per_plane = L::plaquette_per_plane(U);
  auto planes = L::planes(D);
  for (size_t i = 0; i < planes.size(); ++i)
    out.emplace_back(fmt::format("plaquette_{}{}", planes[i].first, planes[i].second), per_plane.select(1, i));
  for (auto [m, n] : loops) out.emplace_back(fmt::format("wilson_loop_{}x{}", m, n), L::wilson_loop(U, m, n));
  for (int64_t mu = 0; mu < D; ++mu) {
    auto P = L::polyakov_loop(U, mu);
    out.emplace_back(fmt::format("polyakov_{}_re", mu), torch::real(P));
    out.emplace_back(fmt::format("polyakov_{}_abs", mu), P.abs());
  }
  out.emplace_back("energy_density_clover", L::energy_density_clover(U).flatten(1).mean(1));
  out.emplace_back("energy_density_plaquette", L::energy_density_plaquette(U).flatten(1).mean(1));
  if (D == 4) out.emplace_back("topological_charge", L::topological_charge(U));
  for (const auto& S : actions) out.emplace_back("action_per_site_" + S.name(), S(U) / V);
  return out;
}

/// Exact values for constant-flux configurations, keyed like scalars().
json flux_exact(const std::vector<int64_t>& ext, int64_t N, const std::vector<L::Flux>& fluxes,
                const std::vector<std::pair<int64_t, int64_t>>& loops) {
  const auto D = static_cast<int64_t>(ext.size());
  json e;
  auto per_plane = L::abelian_flux_plaquette_per_plane(ext, N, fluxes);
  auto planes = L::planes(D);
  double mean = 0;
  for (size_t i = 0; i < planes.size(); ++i) {
    e[fmt::format("plaquette_{}{}", planes[i].first, planes[i].second)] = per_plane[i];
    mean += per_plane[i] / static_cast<double>(planes.size());
  }
  e["plaquette"] = mean;
  for (auto [m, n] : loops) {
    double w = 0;
    for (auto [mu, nu] : planes)
      w += 0.5 *
           (L::abelian_flux_wilson_loop(ext, N, fluxes, mu, nu, m, n) +
            L::abelian_flux_wilson_loop(ext, N, fluxes, mu, nu, n, m)) /
           static_cast<double>(planes.size());
    e[fmt::format("wilson_loop_{}x{}", m, n)] = w;
  }
  e["energy_density_clover"] = L::abelian_flux_energy_density(ext, N, fluxes);
  if (D == 4) {
    e["topological_charge"] = L::abelian_flux_topological_charge(ext, N, fluxes);
    e["topological_charge_continuum"] = L::abelian_flux_continuum_charge(ext, N, fluxes);
  }
  return e;
}

void run_observe(const CommonOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  Config cfg = Config::load(opt.config, opt.overrides);
  const auto shape = read_shape(cfg);
  const auto D = static_cast<int64_t>(shape.size());
  const int64_t N = read_group(cfg);
  const auto device = read_device(cfg);
  apply_kernels(cfg);
  const auto real = read_dtype(cfg);
  const auto options = torch::TensorOptions().dtype(L::complex_dtype(real)).device(device);
  const auto seed = cfg.get<int64_t>("seed", 1234, Check::non_negative());
  const auto batch = cfg.get<int64_t>("batch", 8, Check::positive());
  const auto loops = read_wilson_loops(cfg);
  for (auto [m, n] : loops)
    for (auto L_d : shape)
      if (std::max(m, n) > L_d)
        throw ConfigError(
            fmt::format("config key 'wilson_loops': loop {}x{} does not fit the lattice extent {}", m, n, L_d));
  std::vector<L::GaugeAction> actions;
  for (auto& a : cfg.children("actions")) actions.push_back(read_gauge_action(a));
  std::vector<ConfigurationSpec> specs;
  for (auto& c : cfg.children("configurations")) {
    ConfigurationSpec s;
    s.name = c.require<std::string>("name");
    s.start = c.require<std::string>("start", Check::one_of({"cold", "hot", "near_identity", "flux"}));
    if (s.start == "near_identity") s.epsilon = c.get<double>("epsilon", 0.3, Check::positive());
    if (s.start == "flux") s.fluxes = read_fluxes(c, D);
    specs.push_back(std::move(s));
  }
  if (specs.empty()) throw ConfigError("config key 'configurations': expected a non-empty list of configurations");
  auto checks = cfg.child("checks");
  const bool check_gauge = checks.get<bool>("gauge_invariance", true);
  const bool check_forces = checks.get<bool>("derivatives", true);
  cfg.check_unused();
  if (config_checked(opt, cfg)) return;
  prepare_output_dir(opt.out, opt.force, false);

  spdlog::info("observe: SU({}) on {} lattice, batch {}, {} on {}", N, fmt::join(shape, "x"), batch,
               real == torch::kDouble ? "float64" : "float32", device.str());
  auto gen = L::make_generator(static_cast<uint64_t>(seed), device);
  json results = json::array();
  for (const auto& s : specs) {
    const auto t1 = std::chrono::steady_clock::now();
    torch::Tensor U;
    if (s.start == "cold") U = L::cold_gauge_field(batch, shape, N, options);
    if (s.start == "hot") U = L::hot_gauge_field(batch, shape, N, gen, options);
    if (s.start == "near_identity") U = L::near_identity_gauge_field(batch, shape, N, s.epsilon, gen, options);
    if (s.start == "flux") U = L::abelian_flux_gauge_field(batch, shape, N, s.fluxes, options);
    json r{{"name", s.name}, {"start", s.start}, {"su_n_violation", L::max_su_n_violation(U).max().item<double>()}};
    json obs;
    auto measured = scalars(U, loops, actions);
    for (const auto& [key, value] : measured) obs[key] = stat(value);
    r["observables"] = obs;
    if (s.start == "flux") {
      json exact = flux_exact(shape, N, s.fluxes, loops);
      double worst = 0;
      for (auto& [key, value] : exact.items())
        if (obs.contains(key)) worst = std::max(worst, std::abs(obs[key]["mean"].get<double>() - value.get<double>()));
      r["exact"] = exact;
      r["max_deviation_from_exact"] = worst;
    }
    if (check_gauge) {
      auto omega = L::random_gauge_transformation(batch, shape, N, gen, options);
      auto transformed = scalars(L::gauge_transform(U, omega), loops, actions);
      double worst = 0;
      for (size_t i = 0; i < measured.size(); ++i)
        worst = std::max(worst, (transformed[i].second - measured[i].second).abs().max().item<double>());
      r["gauge_invariance_max_deviation"] = worst;
    }
    if (check_forces) {
      json f;
      for (const auto& S : actions) {
        auto analytic = S.derivative(U);
        const double scale = std::max(1.0, analytic.abs().max().item<double>());
        f[S.name()] = (analytic - L::autograd_derivative(S, U)).abs().max().item<double>() / scale;
      }
      r["derivative_analytic_vs_autograd"] = f;
    }
    r["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    spdlog::info("  {:<14} plaquette {:.6f}  ({:.2f} s)", s.name, obs["plaquette"]["mean"].get<double>(),
                 r["seconds"].get<double>());
    results.push_back(r);
  }

  json out{{"blockspin_version", BLOCKSPIN_VERSION},
           {"torch_version", TORCH_VERSION},
           {"device", device.str()},
           {"configurations", results},
           {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()},
           {"config", cfg.resolved()}};
  const auto path = std::filesystem::path(opt.out) / "observables.json";
  write_json_atomic(path, out);

  fmt::print("\n{:<14} {:>22} {:>12} {:>14} {:>12}\n", "configuration", "plaquette", "Q / E", "|exact dev|",
             "gauge dev");
  for (const auto& r : results) {
    const auto& o = r["observables"];
    const auto& p = o["plaquette"];
    const std::string plaq = p["error"].is_null() ? fmt::format("{:.8f}", p["mean"].get<double>())
                                                  : with_error(p["mean"].get<double>(), p["error"].get<double>());
    const double qe = o.contains("topological_charge") ? o["topological_charge"]["mean"].get<double>()
                                                       : o["energy_density_clover"]["mean"].get<double>();
    fmt::print("{:<14} {:>22} {:>12.6f} {:>14} {:>12}\n", r["name"].get<std::string>(), plaq, qe,
               r.contains("max_deviation_from_exact")
                   ? fmt::format("{:.2e}", r["max_deviation_from_exact"].get<double>())
                   : "-",
               r.contains("gauge_invariance_max_deviation")
                   ? fmt::format("{:.2e}", r["gauge_invariance_max_deviation"].get<double>())
                   : "-");
  }
  fmt::print("\nresults written to {}\n", path.string());
}

const CommandRegistrar observe_registrar{
    {"observe",
     "measure plaquettes, Wilson/Polyakov loops, energy density and topological charge "
     "on cold, hot, near-identity and exact constant-flux configurations",
     false, run_observe}};

}  // namespace
}  // namespace blockspin::apps
