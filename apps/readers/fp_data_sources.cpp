// `blockspin fp-data` minimisation inputs: the coarse configurations (input ensembles checked for SU(N), inline
// Wilson-action Monte Carlo, BPST instantons) and the minimiser options of each batch (see fp_data_setup.h).
#include "apps/readers/fp_data_setup.h"

#include "io/ensemble_file.h"
#include "io/gauge_files.h"
#include "io/h5io.h"
#include "support/progress.h"

#include "lattice/blocking.h"
#include "lattice/gauge_field.h"
#include "lattice/instanton.h"
#include "lattice/layout.h"
#include "lattice/rng.h"
#include "lattice/su_n.h"
#include "lattice/su_n_check.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <algorithm>
#include <limits>
#include <map>
#include <memory>

namespace blockspin::apps {

namespace L = blockspin::lattice;

namespace {

/// Metadata for `n` configurations of one kind; wilson_action is filled in later.
io::FpCoarse make_part(torch::Tensor links, int64_t kind, double beta, torch::Tensor rho, int64_t source) {
  io::FpCoarse c;
  const int64_t n = links.size(0);
  c.links = links.to(torch::kCPU, torch::kComplexDouble).contiguous();
  c.beta_wil = torch::full({n}, beta, torch::kDouble);
  c.kind = torch::full({n}, kind, torch::kLong);
  c.rho = rho.defined() ? rho : torch::full({n}, std::numeric_limits<double>::quiet_NaN(), torch::kDouble);
  c.source = torch::full({n}, source, torch::kLong);
  c.source_index = torch::arange(n, torch::kLong);
  return c;
}

/// Every link of every configuration in SU(N), or an InputError naming input i, its file and the configuration.
void check_input_links(const FpDataSetup& s, size_t i, const torch::Tensor& links, const torch::Tensor& rows) {
  for (int64_t k = 0; k < links.size(0); ++k) {
    try {
      L::check_su_n(links.slice(0, k, k + 1));
    } catch (const std::invalid_argument& err) {
      std::string msg = err.what();
      const std::string prefix = "gauge field: link not in SU(" + std::to_string(s.N) + ") at batch 0, ";
      if (msg.rfind(prefix, 0) == 0)
        msg = "link not in SU(" + std::to_string(s.N) + ") at " + msg.substr(prefix.size());
      throw InputError(
          fmt::format("inputs[{}] '{}': configuration {}: {}", i, s.inputs[i].path, rows[k].item<int64_t>(), msg));
    }
  }
}

/// The converged rows of an earlier fp_data.h5 that input i selects (β_wil values, the first n_configs of each,
/// instantons), with their β_wil, kind and ρ; source_index is the row in that file.
io::FpCoarse load_fp_data_input(const FpDataSetup& s, size_t i) {
  const auto& in = s.inputs[i];
  H5::H5File f = io::open_h5(in.path, "fp_data");
  const io::FpCoarse c = io::read_fp_coarse(f);
  const auto converged = io::read_tensor(f, "converged").to(torch::kBool);
  std::vector<int64_t> rows;
  std::map<double, int64_t> taken;  // per β_wil
  for (int64_t k = 0; k < c.size(); ++k) {
    if (!converged[k].item<bool>()) continue;
    if (c.kind[k].item<int64_t>() == io::kFpKindInstanton) {
      if (in.instantons) rows.push_back(k);
      continue;
    }
    const double b = c.beta_wil[k].item<double>();
    if (!in.betas.empty() && std::find(in.betas.begin(), in.betas.end(), b) == in.betas.end()) continue;
    if (in.n_configs > 0 && taken[b] >= in.n_configs) continue;
    ++taken[b];
    rows.push_back(k);
  }
  if (rows.empty()) throw InputError(fmt::format("inputs[{}] '{}': no converged configurations selected", i, in.path));
  const auto idx = torch::tensor(rows, torch::kLong);
  io::FpCoarse part;
  part.links = c.links.index_select(0, idx).to(torch::kComplexDouble).contiguous();
  check_input_links(s, i, part.links, idx);
  part.beta_wil = c.beta_wil.index_select(0, idx).to(torch::kDouble);
  part.kind = c.kind.index_select(0, idx).to(torch::kLong);
  part.rho = c.rho.index_select(0, idx).to(torch::kDouble);
  part.source = torch::full({idx.size(0)}, static_cast<int64_t>(i), torch::kLong);
  part.source_index = idx;
  spdlog::info("inputs[{}]: {} configurations ({} instantons) of '{}' minimised again", i, rows.size(),
               (part.kind == io::kFpKindInstanton).sum().item<int64_t>(), in.path);
  return part;
}

/// Reads the input ensembles (and earlier fp_data files), checking every link of every used configuration for SU(N).
std::vector<io::FpCoarse> load_inputs(const FpDataSetup& s) {
  std::vector<io::FpCoarse> parts;
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    const auto& in = s.inputs[i];
    if (in.fp_data) {
      parts.push_back(load_fp_data_input(s, i));
      continue;
    }
    const auto e = read_any_ensemble(in.path);
    auto links = e.links.slice(0, 0, in.n_configs);
    check_input_links(s, i, links, torch::arange(links.size(0), torch::kLong));
    spdlog::info("inputs[{}]: {} configurations from '{}' at β_wil = {}", i, links.size(0), in.path, in.beta);
    parts.push_back(make_part(links, io::kFpKindMonteCarlo, in.beta, {}, static_cast<int64_t>(i)));
  }
  return parts;
}

/// Wilson-action ensembles at every β of `generate`, by the lattice module's heatbath or HMC (one generator, seeded
/// once, used for the β values in order).
std::vector<io::FpCoarse> generate_configs(const FpDataSetup& s, double& generation_seconds) {
  const auto& g = s.gen;
  const auto options = torch::TensorOptions().dtype(L::complex_dtype(s.dtype)).device(s.device);
  auto gen = L::make_generator(static_cast<uint64_t>(s.seed), s.device);
  const int64_t per_chain = g.n_therm + g.save_every * (g.n_configs / g.n_chains);
  Progress progress("generate", g.alg.kind == L::McKind::hmc ? "trajectories" : "sweeps",
                    per_chain * static_cast<int64_t>(g.betas.size()));
  std::vector<io::FpCoarse> parts;
  for (size_t bi = 0; bi < g.betas.size(); ++bi) {
    const auto started = std::chrono::steady_clock::now();
    const auto action = L::GaugeAction::wilson(g.betas[bi]);
    const auto md = L::md_action(action);
    auto U = g.start == "hot" ? L::hot_gauge_field(g.n_chains, s.shape, s.N, gen, options)
                              : L::cold_gauge_field(g.n_chains, s.shape, s.N, options);
    std::vector<torch::Tensor> saved;
    double acc_sum = 0;
    int64_t acc_n = 0;
    for (int64_t u = 1; u <= per_chain; ++u) {
      auto step = g.alg.update(U, action, md, u - 1, gen);
      U = step.U;
      if (g.alg.kind == L::McKind::hmc && u > g.n_therm) {
        acc_sum += step.accepted.to(torch::kDouble).mean().item<double>();
        ++acc_n;
      }
      if (u > g.n_therm && (u - g.n_therm) % g.save_every == 0) saved.push_back(U.to(torch::kCPU));
      progress.update(static_cast<int64_t>(bi) * per_chain + u, fmt::format("β_wil = {}", g.betas[bi]));
    }
    // Configurations ordered by save event, chains within an event.
    auto links = torch::cat(saved);
    const auto plaq = L::GaugeAction::wilson(1.0)(links).mean().item<double>();
    spdlog::info("β_wil = {}: {} configurations, mean Wilson action per site (β = 1) {:.6f}{}", g.betas[bi],
                 links.size(0), plaq / static_cast<double>(L::volume(links)),
                 acc_n > 0 ? fmt::format(", HMC acceptance {:.3f}", acc_sum / static_cast<double>(acc_n)) : "");
    parts.push_back(make_part(links, io::kFpKindMonteCarlo, g.betas[bi], {}, static_cast<int64_t>(bi)));
    generation_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  return parts;
}

io::FpCoarse make_instantons(const FpDataSetup& s) {
  std::vector<torch::Tensor> fields;
  for (double rho : s.rho) {
    L::InstantonOptions o;
    o.rho = rho;
    o.integration_points = s.integration_points;
    fields.push_back(L::bpst_instanton(s.shape, s.N, o, torch::TensorOptions().dtype(torch::kComplexDouble)));
  }
  auto rho = torch::tensor(s.rho, torch::kDouble);
  return make_part(torch::cat(fields), io::kFpKindInstanton, std::numeric_limits<double>::quiet_NaN(), rho, -1);
}

}  // namespace

/// The discretised fine instanton that V's instanton of radius ρ comes from: radius 2ρ, at the fine lattice's default
/// centre (half a fine spacing from 2c, so no fine link passes through the singular point).
torch::Tensor fine_instanton(const FpDataSetup& s, double rho, const torch::TensorOptions& options) {
  std::vector<int64_t> fine_shape = s.shape;
  for (auto& x : fine_shape) x *= 2;
  L::InstantonOptions io;
  io.rho = 2 * rho;
  io.integration_points = s.integration_points;
  return L::bpst_instanton(fine_shape, s.N, io, options);
}

std::vector<io::FpCoarse> load_fp_inputs(const FpDataSetup& s) { return load_inputs(s); }

io::FpCoarse make_coarse_configurations(const FpDataSetup& s, std::vector<io::FpCoarse> inputs,
                                        double& generation_seconds) {
  std::vector<io::FpCoarse> parts = std::move(inputs);
  if (s.generate) {
    auto g = generate_configs(s, generation_seconds);
    parts.insert(parts.end(), g.begin(), g.end());
  }
  if (s.instantons) parts.push_back(make_instantons(s));
  auto coarse = io::concat(parts);
  coarse.wilson_action = L::GaugeAction::wilson(1.0)(coarse.links).to(torch::kDouble);
  return coarse;
}

std::string describe(const io::FpCoarse& c, int64_t i) {
  return c.kind[i].item<int64_t>() == io::kFpKindInstanton ? fmt::format("instanton ρ = {}", c.rho[i].item<double>())
                                                           : fmt::format("β_wil = {}", c.beta_wil[i].item<double>());
}

/// Random streams of the second starts: stream_seed(seed, kSecondStartStreams + row), apart from the ranks' streams.
constexpr int64_t kSecondStartStreams = int64_t{1} << 32;

/// The minimiser options for one batch: instanton starts (instantons.start) and a log line at most every 30 s.
L::FpMinimiserOptions batch_minimiser_options(const FpDataSetup& s, const io::FpCoarse& coarse, int64_t first,
                                              const torch::Tensor& V, int64_t b, int64_t n_batches,
                                              std::chrono::steady_clock::time_point started) {
  auto minimiser = s.minimiser;
  auto last_report = std::make_shared<std::chrono::steady_clock::time_point>(started);
  const double tol = s.minimiser.grad_tol;
  minimiser.on_iteration = [=](const L::FpProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - *last_report).count() < 30.0) return;
    *last_report = now;
    spdlog::info(
        "fp-data: batch {}/{}: L-BFGS iteration {}, max gradient norm {:.3e} (tol {:g}), converged {}/{}, "
        "mean objective {:.9g}, {:.0f} s",
        b + 1, n_batches, p.iteration, p.max_grad_norm, tol, p.n_converged, p.batch, p.objective.mean().item<double>(),
        std::chrono::duration<double>(now - started).count());
  };
  // Instanton rows (from instantons.enabled or an fp_data input) may also start from the fine instanton; with
  // minimiser.second_start_noise, Monte Carlo rows from a perturbed unblocked start (a stream per row, so the start
  // does not depend on the batching or the ranks).
  const int64_t count = V.size(0);
  const auto instanton = coarse.kind.slice(0, first, first + count) == io::kFpKindInstanton;
  const bool second = s.second_start_noise > 0;
  const auto mask = second
                        ? (s.instanton_start == L::FpStartPolicy::unblocked ? ~instanton : torch::ones_like(instanton))
                        : instanton;
  if (!mask.any().item<bool>()) return minimiser;
  std::vector<torch::Tensor> starts;
  for (int64_t k = 0; k < count; ++k) {
    if (instanton[k].item<bool>()) {
      starts.push_back(fine_instanton(s, coarse.rho[first + k].item<double>(), V.options()));
      continue;
    }
    auto start = L::unblock_start(V.narrow(0, k, 1));
    if (second) {
      auto gen =
          L::make_generator(L::stream_seed(static_cast<uint64_t>(s.seed), kSecondStartStreams + first + k), V.device());
      auto prefix = start.sizes().vec();
      prefix.resize(prefix.size() - 2);
      start = torch::matmul(L::random_su_n_near_identity(prefix, s.N, s.second_start_noise, gen, V.options()), start);
    }
    starts.push_back(start);
  }
  minimiser.alternative_start = torch::cat(starts);
  minimiser.alternative_mask = mask;
  minimiser.start_policy = second ? L::FpStartPolicy::both : s.instanton_start;
  return minimiser;
}

}  // namespace blockspin::apps
