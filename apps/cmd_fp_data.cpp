// `blockspin fp-data`: fixed-point-action training data. For coarse configurations V (Wilson-action ensembles at
// β_wil, read from `blockspin generate` files or generated inline, plus optional discretised BPST instantons) it
// solves A_FP[V] = min_U {A[U] + T[U, V]} on the fine lattice (2x the coarse extents) with the batched L-BFGS
// minimiser of lattice/fp_minimise.h and stores A_FP, D^FP and convergence diagnostics in DIR/fp_data.h5, with a
// summary in DIR/summary.json.
//
// Normalisation: every action here is β-free (β = 1, the FP-equation normalisation of blocking.h): the fine action
// is GaugeAction::from_name(name, 1.0), `wilson_action` is the Wilson action of V at β = 1, and the continuum
// instanton action is 4π²/N (multiply by β for the Boltzmann weight).
//
// The config keys and the coarse configurations are in apps/readers/fp_data_setup.h, the file layout in
// io/fp_data_file.h. While running, DIR holds coarse.h5 (all coarse configurations with their metadata and the resolved
// config, written once before the first minimisation) and chunks/batch_NNNNNN.h5 (the results of each minimised batch,
// written atomically). --resume continues after the last complete batch; the minimiser is deterministic and batches are
// fixed by index, so the final fp_data.h5 is bitwise identical to an uninterrupted run. At the end the chunks are
// assembled into fp_data.h5 and removed together with coarse.h5.
#include "apps/command.h"
#include "apps/readers/fp_data_setup.h"
#include "apps/readers/fp_iteration.h"
#include "io/fp_data_file.h"
#include "io/h5io.h"
#include "run/checkpoint.h"
#include "run/chunk_store.h"
#include "run/distributed.h"
#include "run/run_directory.h"
#include "support/atomic_file.h"
#include "support/config.h"
#include "support/progress.h"
#include "support/version.h"

#include "lattice/fp_minimise.h"
#include "lattice/gauge_action.h"
#include "lattice/instanton.h"
#include "lattice/layout.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <sstream>
#include <utility>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using nlohmann::json;

constexpr const char* kKindLegend =
    "0: Wilson-action Monte Carlo configuration at beta_wil, 1: BPST instanton of radius rho";
constexpr const char* kNormalisation =
    "all actions beta-free (beta = 1): action = A_FP[V] = min_U {A[U] + T[U, V]}, wilson_action = Wilson action of V "
    "at beta = 1, instanton continuum action 4 pi^2 / N; multiply by beta for the Boltzmann weight";

constexpr const char* kCoarseFile = "coarse.h5";

/// Results that are not finite (a damaged chunk, or a minimisation that broke down) never reach fp_data.h5.
void check_results(const io::FpResults& r, const fs::path& where) {
  for (const auto& [name, field] : io::fp_result_fields())
    if (!torch::isfinite((r.*field).to(torch::kDouble)).all().item<bool>())
      throw NumericalStop(
          fmt::format("'{}': non-finite values in '{}' (damaged file or a failed minimisation)", where.string(), name));
}

/// One line per configuration that was minimised from two starts: both minima, which was kept, how far apart D^FP is.
void log_second_starts(const io::FpCoarse& coarse, int64_t first, const L::FpResult& fp) {
  if (!fp.used_alternative.defined()) return;
  for (int64_t k = 0; k < fp.action.size(0); ++k) {
    const double alt = fp.alternative_action[k].item<double>();
    if (std::isnan(alt)) continue;
    const bool instanton = coarse.kind[first + k].item<int64_t>() == io::kFpKindInstanton;
    const bool used = fp.used_alternative[k].item<bool>();
    const char* second = instanton ? "the fine instanton" : "the perturbed start";
    spdlog::info(
        "{}: A_FP from the unblocked start {:.9f}, from {} {:.9f} ({} kept); D^FP mean squared difference "
        "{:.3e}",
        describe(coarse, first + k), fp.first_start_action[k].item<double>(), second, alt,
        used ? second : "the unblocked start", fp.start_derivative_msd[k].item<double>());
  }
}

/// The β_wil values of the rows where `rows` ([n] bool) is true, in the order they first appear.
std::vector<double> distinct_betas(const io::FpCoarse& c, const torch::Tensor& rows) {
  std::vector<double> betas;
  for (int64_t i = 0; i < c.size(); ++i)
    if (rows[i].item<bool>() && std::find(betas.begin(), betas.end(), c.beta_wil[i].item<double>()) == betas.end())
      betas.push_back(c.beta_wil[i].item<double>());
  return betas;
}

/// summary.json's second_start: per β_wil (Monte Carlo rows minimised from two starts), how often the second start
/// found a lower minimum, by how much, and how far apart the two minima's D^FP are (in units of the training loss L2,
/// which is half the mean squared difference per component). Null when no row had a second start.
json second_start_summary(const io::FpCoarse& c, const io::FpResults& r) {
  // Two converged minimisations of one minimum agree to rounding (~1e-15 relative); another minimum differs by more.
  constexpr double kAnotherMinimum = 1e-9;
  if (!r.second_start.defined()) return nullptr;
  const auto first = r.second_start.select(1, 0), second = r.second_start.select(1, 1);
  const auto msd = r.second_start.select(1, 2);
  const auto ran = ~torch::isnan(second) & (c.kind == io::kFpKindMonteCarlo);
  if (!ran.any().item<bool>()) return nullptr;
  json out = json::array();
  for (double b : distinct_betas(c, ran)) {
    const auto m = ran & (c.beta_wil == b);
    const auto gap = (first.index({m}) - second.index({m})) / r.action.index({m});  // > 0: the second start lower
    const auto l2 = msd.index({m}) / 2.0;
    out.push_back({{"beta_wil", b},
                   {"n", m.sum().item<int64_t>()},
                   {"n_second_lower", (gap > kAnotherMinimum).sum().item<int64_t>()},
                   {"n_different", (gap.abs() > kAnotherMinimum).sum().item<int64_t>()},
                   {"mean_relative_gap", gap.mean().item<double>()},
                   {"max_abs_relative_gap", gap.abs().max().item<double>()},
                   {"mean_derivative_L2_between_minima", l2.mean().item<double>()},
                   {"max_derivative_L2_between_minima", l2.max().item<double>()}});
  }
  return out;
}

void finish(const RunDirectory& run, const FpDataSetup& s, const io::FpCoarse& c, double generation_seconds,
            const std::vector<io::FpResults>& chunks, double minimisation_seconds) {
  const io::FpResults r = io::concat(chunks);
  const int64_t n = c.size();
  const fs::path dir = run.dir();
  const json& config = run.config();

  write_h5_atomic(dir / "fp_data.h5", "fp_data", BLOCKSPIN_VERSION, [&](H5::H5File& f) {
    io::write_fp_coarse(f, c);
    io::write_fp_results(f, r);
    write_attribute(f, "config", config.dump());
    write_attribute(f, "kind_legend", kKindLegend);
    write_attribute(f, "normalisation", kNormalisation);
  });

  // Summary.
  const double volume = static_cast<double>(L::volume(c.links));
  const auto conv = r.converged.to(torch::kBool);
  const int64_t n_conv = conv.sum().item<int64_t>();
  json failed = json::array();
  for (int64_t i = 0; i < n; ++i)
    if (!conv[i].item<bool>())
      failed.push_back({{"index", i},
                        {"kind", c.kind[i].item<int64_t>() == io::kFpKindInstanton ? "instanton" : "monte_carlo"},
                        {"grad_norm", r.grad_norm[i].item<double>()},
                        {"iterations", r.iterations[i].item<int64_t>()}});
  json per_beta = json::array();
  const std::vector<double> betas = distinct_betas(c, c.kind == io::kFpKindMonteCarlo);
  auto mean_err = [](const torch::Tensor& x) {
    const double m = x.mean().item<double>();
    const double e = x.size(0) > 1 ? x.std().item<double>() / std::sqrt(static_cast<double>(x.size(0))) : 0.0;
    return std::make_pair(m, e);
  };
  for (double b : betas) {
    auto mask = (c.kind == io::kFpKindMonteCarlo) & (c.beta_wil == b);
    auto [a, ae] = mean_err(r.action.index({mask}) / volume);
    auto [w, we] = mean_err(c.wilson_action.index({mask}) / volume);
    per_beta.push_back({{"beta_wil", b},
                        {"n", mask.sum().item<int64_t>()},
                        {"n_converged", (mask & conv).sum().item<int64_t>()},
                        {"action_per_site", a},
                        {"action_per_site_error", ae},
                        {"wilson_action_per_site", w},
                        {"wilson_action_per_site_error", we},
                        {"mean_iterations", r.iterations.index({mask}).to(torch::kDouble).mean().item<double>()}});
  }
  const double continuum = L::bpst_continuum_action(1.0, s.N);
  json instantons = json::array();
  for (int64_t i = 0; i < n; ++i)
    if (c.kind[i].item<int64_t>() == io::kFpKindInstanton) {
      const double a = r.action[i].item<double>(), w = c.wilson_action[i].item<double>();
      instantons.push_back({{"rho", c.rho[i].item<double>()},
                            {"action", a},
                            {"wilson_action", w},
                            {"continuum_action", continuum},
                            {"action_over_continuum", a / continuum},
                            {"wilson_over_continuum", w / continuum},
                            {"converged", conv[i].item<bool>()},
                            {"grad_norm", r.grad_norm[i].item<double>()}});
    }
  json summary{{"n_configs", n},
               {"n_converged", n_conv},
               {"failed", failed},
               {"mean_iterations", r.iterations.to(torch::kDouble).mean().item<double>()},
               {"max_grad_norm", r.grad_norm.max().item<double>()},
               {"grad_tol", s.minimiser.grad_tol},
               {"seconds_minimisation", minimisation_seconds},
               {"seconds_per_configuration", minimisation_seconds / static_cast<double>(n)},
               {"seconds_generation", generation_seconds},
               {"coarse_shape", s.shape},
               {"fine_shape",
                [&] {
                  auto f = s.shape;
                  for (auto& x : f) x *= 2;
                  return f;
                }()},
               {"coarse_volume", volume},
               {"normalisation", kNormalisation},
               {"per_beta", per_beta},
               {"instantons", instantons},
               {"previous_iteration", compare_with_fp_inputs(s, c, r)},
               {"second_start", second_start_summary(c, r)},
               {"distributed", communicator().describe()},
               {"config", config},
               {"blockspin_version", BLOCKSPIN_VERSION}};
  write_json_atomic(dir / "summary.json", summary);
  run.finish({ChunkStore::kDirectory, kCoarseFile});

  fmt::print("{} configurations, {} converged, mean {:.1f} iterations, {:.3g} s per configuration\n", n, n_conv,
             summary["mean_iterations"].get<double>(), summary["seconds_per_configuration"].get<double>());
  if (!per_beta.empty()) fmt::print("{:>8} {:>4} {:>16} {:>16}\n", "beta_wil", "n", "A_FP/site", "A_W/site");
  for (const auto& p : per_beta)
    fmt::print("{:>8.3g} {:>4} {:>16.6f} {:>16.6f}\n", p["beta_wil"].get<double>(), p["n"].get<int64_t>(),
               p["action_per_site"].get<double>(), p["wilson_action_per_site"].get<double>());
  if (!instantons.empty())
    fmt::print("{:>6} {:>12} {:>12} {:>12}   (beta-free; continuum 4π²/N)\n", "rho", "A_FP", "A_Wilson", "continuum");
  for (const auto& p : instantons)
    fmt::print("{:>6.3g} {:>12.6f} {:>12.6f} {:>12.6f}{}\n", p["rho"].get<double>(), p["action"].get<double>(),
               p["wilson_action"].get<double>(), continuum, p["converged"].get<bool>() ? "" : "  (not converged)");
  print_fp_iteration(summary["previous_iteration"]);
  if (!summary["second_start"].is_null()) {
    fmt::print("second starts (minimiser.second_start_noise = {:g}):\n{:>8} {:>4} {:>8} {:>14} {:>16}\n",
               s.second_start_noise, "beta_wil", "n", "lower", "max |ΔA|/A", "D^FP L2 apart");
    for (const auto& p : summary["second_start"])
      fmt::print("{:>8.3g} {:>4} {:>8} {:>14.3e} {:>16.3e}\n", p["beta_wil"].get<double>(), p["n"].get<int64_t>(),
                 p["n_second_lower"].get<int64_t>(), p["max_abs_relative_gap"].get<double>(),
                 p["mean_derivative_L2_between_minima"].get<double>());
  }
  fmt::print("results written to {} and {}\n", (dir / "fp_data.h5").string(), (dir / "summary.json").string());
  if (n_conv < n && s.require_converged)
    throw NumericalStop(
        fmt::format("{} of {} configurations did not converge (gradient norm > grad_tol = {:g}); they are stored with "
                    "converged = false (set require_converged = false to accept this)",
                    n - n_conv, n, s.minimiser.grad_tol));
}

// Minimises batch b and returns its results (io::FpResults, CPU) and its wall-clock seconds, serialised.
std::string minimise_batch(const FpDataSetup& s, const io::FpCoarse& coarse, int64_t b, int64_t n_batches,
                           const L::ActionFunctional& fine_fn, const torch::TensorOptions& options) {
  const int64_t n = coarse.size(), first = b * s.batch_size, count = std::min(s.batch_size, n - first);
  const auto started = std::chrono::steady_clock::now();
  const auto V = coarse.links.slice(0, first, first + count).to(options);
  auto minimiser = batch_minimiser_options(s, coarse, first, V, b, n_batches, started);
  auto fp = L::fp_minimise(V, fine_fn, minimiser);
  log_second_starts(coarse, first, fp);
  io::FpResults r;
  r.action = fp.action.to(torch::kCPU, torch::kDouble);
  r.fine_action = fp.fine_action.to(torch::kCPU, torch::kDouble);
  r.kernel = fp.kernel.to(torch::kCPU, torch::kDouble);
  r.derivatives = fp.derivative.to(torch::kCPU, torch::kDouble);
  r.grad_norm = fp.grad_norm.to(torch::kCPU, torch::kDouble);
  r.iterations = fp.iterations.to(torch::kCPU, torch::kLong);
  r.converged = fp.converged.to(torch::kCPU, torch::kLong);
  if (s.store_minimisers) r.fine_links = fp.U.to(torch::kCPU, torch::kComplexDouble);
  if (fp.first_start_action.defined())
    r.second_start = torch::stack({fp.first_start_action, fp.alternative_action, fp.start_derivative_msd}, 1)
                         .to(torch::kCPU, torch::kDouble);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (int64_t k = 0; k < count; ++k)
    if (r.converged[k].item<int64_t>() == 0)
      spdlog::warn(
          "configuration {} ({}) did not converge: gradient norm {:.3e} > grad_tol {:g} after {} "
          "iterations; stored with converged = false",
          first + k, describe(coarse, first + k), r.grad_norm[k].item<double>(), s.minimiser.grad_tol,
          r.iterations[k].item<int64_t>());
  std::vector<torch::Tensor> parts;
  for (const auto& [name, field] : io::fp_result_fields()) parts.push_back(r.*field);
  parts.push_back(torch::tensor({seconds}, torch::kDouble));
  // The optional fields, an empty tensor where absent.
  for (const auto& t : {r.fine_links, r.second_start}) parts.push_back(t.defined() ? t : torch::empty({0}));
  std::ostringstream out;
  torch::save(parts, out);
  return out.str();
}

std::pair<io::FpResults, double> unpack_results(const std::string& bytes) {
  std::vector<torch::Tensor> parts;
  std::istringstream in(bytes);
  torch::load(parts, in);
  io::FpResults r;
  size_t i = 0;
  for (const auto& [name, field] : io::fp_result_fields()) r.*field = parts.at(i++);
  const double seconds = parts.at(i++).item<double>();
  if (parts.at(i).numel() > 0) r.fine_links = parts.at(i);  // store_minimisers
  if (parts.at(i + 1).numel() > 0) r.second_start = parts.at(i + 1);
  return {r, seconds};
}

void run_fp_data(const CommonOptions& opt) {
  Config cfg = Config::load(opt.config, opt.overrides);
  const FpDataSetup s = read_fp_data_setup(cfg);
  cfg.check_unused();
  if (config_checked(opt, cfg)) return;
  const json config = cfg.resolved();
  // Input ensembles are read and checked before anything is written.
  const bool will_resume = opt.resume && fs::exists(fs::path(opt.out) / kCoarseFile);
  const Communicator& comm = communicator();
  std::vector<io::FpCoarse> inputs;
  if (!will_resume && comm.is_root()) inputs = load_fp_inputs(s);  // other ranks get the coarse.h5 rank 0 writes
  // A stored config is read with this version's defaults, so that keys added since the run started (e.g.
  // minimiser.stall_iterations) compare equal when left at their default.
  ResumeRules rules;
  rules.resolve = [](const json& stored) {
    Config c = Config::from_json(stored);
    read_fp_data_setup(c);
    return c.resolved();
  };
  const RunDirectory run("fp-data", {opt.out, opt.force, opt.resume}, config, rules);
  run.refuse_if_complete("fp_data.h5", kCoarseFile);
  const fs::path dir = run.dir();

  io::FpCoarse coarse;
  double generation_seconds = 0;
  if (run.resume_or_start(kCoarseFile, {ChunkStore::kDirectory, kCoarseFile})) {
    H5::H5File f = open_checkpoint(run, kCoarseFile, "fp_data_coarse");
    coarse = io::read_fp_coarse(f);
    generation_seconds = read_double_attribute(f, "generation_seconds");
    spdlog::info("resuming: {} coarse configurations in {}", coarse.size(), (dir / kCoarseFile).string());
  } else {
    if (comm.is_root()) {
      coarse = make_coarse_configurations(s, std::move(inputs), generation_seconds);
      write_checkpoint(run, kCoarseFile, "fp_data_coarse", [&](H5::H5File& f) {
        io::write_fp_coarse(f, coarse);
        write_attribute(f, "generation_seconds", generation_seconds);
      });
    }
    if (comm.distributed()) coarse = io::read_fp_coarse(open_checkpoint(run, kCoarseFile, "fp_data_coarse"));
  }
  const ChunkStore store(run, "batch", "fp_data_chunk");

  const int64_t n = coarse.size();
  const int64_t n_batches = (n + s.batch_size - 1) / s.batch_size;
  std::vector<io::FpResults> chunks;
  double minimisation_seconds = 0;
  const int64_t n_present = store.count_present();
  for (int64_t b = 0; b < std::min(n_batches, n_present) && run.writes(); ++b) {
    const int64_t first = b * s.batch_size;
    H5::H5File f = store.open(b);
    if (read_int_attribute(f, "first") != first)
      throw InputError(fmt::format("'{}': starts at configuration {}, expected {}", store.path(b).string(),
                                   read_int_attribute(f, "first"), first));
    chunks.push_back(io::read_fp_results(f, std::min(s.batch_size, n - first), /*fine_links=*/true));
    check_results(chunks.back(), store.path(b));
    minimisation_seconds += read_double_attribute(f, "seconds");
  }
  const int64_t n_done = std::min(n_batches, n_present);
  if (n_done > 0) spdlog::info("resuming after batch {} of {}", n_done, n_batches);

  const L::ActionFunctional fine_fn = s.fine_action();
  const auto options = torch::TensorOptions().dtype(L::complex_dtype(s.dtype)).device(s.device);
  auto fine_shape = s.shape;
  for (auto& x : fine_shape) x *= 2;
  spdlog::info(
      "fp-data: SU({}) coarse {} -> fine {}, fine action {} (β-free), κ = {}, {} configurations in {} "
      "batches of <= {}, grad_tol {:g}",
      s.N, fmt::join(s.shape, "x"), fmt::join(fine_shape, "x"), s.fine_label(), s.minimiser.blocking.kappa, n,
      n_batches, s.batch_size, s.minimiser.grad_tol);

  Progress progress("fp-data", "configurations", n, std::min(n, n_done * s.batch_size));
  int64_t n_conv_so_far = 0;
  for (const auto& ch : chunks) n_conv_so_far += ch.converged.sum().item<int64_t>();
  // Distributed: in each round the ranks minimise consecutive batches (rank r takes batch round_start + r), rank 0
  // gathers the results and writes the chunks in order. Batches are fixed by index and the minimiser is
  // deterministic, so fp_data.h5 is the same for every world size.
  for (int64_t round_start = n_done; round_start < n_batches; round_start += comm.world_size()) {
    const int64_t b = round_start + comm.rank();
    std::string mine;
    if (b < n_batches) mine = minimise_batch(s, coarse, b, n_batches, fine_fn, options);
    const std::vector<std::string> parts = comm.gather_bytes(mine, "the minimised batches");
    if (!run.writes()) continue;
    for (int64_t k = 0; k < comm.world_size() && round_start + k < n_batches; ++k) {
      const int64_t bk = round_start + k, first = bk * s.batch_size, count = std::min(s.batch_size, n - first);
      auto [r, seconds] = unpack_results(parts[k]);
      check_results(r, store.path(bk));
      store.write(bk, [&](H5::H5File& f) {
        io::write_fp_results(f, r);
        write_attribute(f, "first", first);
        write_attribute(f, "seconds", seconds);
      });
      minimisation_seconds += seconds;
      n_conv_so_far += r.converged.sum().item<int64_t>();
      chunks.push_back(r);
      run.crash_point(bk + 1);
      progress.update(first + count,
                      fmt::format("converged {}/{}, last batch {:.0f} iterations (max), A_FP/site {:.5f}",
                                  n_conv_so_far, first + count, r.iterations.max().item<double>(),
                                  r.action.mean().item<double>() / static_cast<double>(L::volume(coarse.links))));
    }
  }
  comm.barrier("the end of the minimisations");
  if (!run.writes()) return;
  finish(run, s, coarse, generation_seconds, chunks, minimisation_seconds);
}

const CommandRegistrar fp_data_registrar{distributed(CommandSpec{
    "fp-data",
    "fixed-point-action data: A_FP[V] and its derivatives D^FP by minimisation over the 2x finer lattice, for "
    "Wilson ensembles (inputs or inline generation) and BPST instantons; DIR/fp_data.h5 and DIR/summary.json, "
    "with checkpoints and --resume",
    true, run_fp_data})};

}  // namespace
}  // namespace blockspin::apps
