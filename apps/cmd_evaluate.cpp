// `blockspin evaluate`: a trained FP-action model (train task fp_action) against the classical actions, as the FP
// L-CNN papers compare (arXiv:2311.17816 Fig. 4, arXiv:2401.06481): per β_wil the relative error of the action
// values ⟨|A_FP − A|/A_FP⟩ and the derivative loss L2 = ⟨Σ (D^FP − D)²⟩/(2D(N²−1)V), for the model and for Wilson,
// Symanzik, Iwasaki and DBW2, each with its best affine fit a·S + b (least squares on the train split of the model's
// training data, whatever data is evaluated; evaluate.fit_files for other files);
// the distribution of D^FP − D per action; the change of A under lattice symmetries (axis swaps, reflections: small,
// not zero — the network learns them; the classical actions' change, zero to rounding, checks the transformations); A
// of the instanton rows against the continuum 4π²/N; the locality D2S(r) of the second derivative (lattice/locality.h)
// with its exponential fit; per β_wil, the Wilson action per site of the evaluated rows against the training rows'
// ("coverage": a test set outside the training data shows there first). The splits are the training run's own
// (apps/readers/fp_training_data.h). Writes DIR/metrics.json and the plots relative_action_error.png,
// derivative_loss.png, derivative_deviation.png and locality.png (log y).
#include "apps/command.h"
#include "apps/readers/fp_scores.h"
#include "apps/readers/fp_training_data.h"
#include "io/h5io.h"
#include "io/plot.h"
#include "lattice/derivatives.h"
#include "lattice/gauge_action.h"
#include "lattice/hypercubic.h"
#include "lattice/layout.h"
#include "lattice/locality.h"
#include "lcnn/fp_action_model.h"
#include "run/checkpoint.h"
#include "run/run_directory.h"
#include "run/trainer.h"
#include "support/atomic_file.h"
#include "support/version.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using nlohmann::json;

// Action values and derivatives [n], [n, D, x.., N²−1] of an action on links U (batches of `batch`).
std::pair<torch::Tensor, torch::Tensor> values_and_derivatives(const L::ActionFunctional& action,
                                                               const torch::Tensor& U, int64_t batch) {
  std::vector<torch::Tensor> a, d;
  for (int64_t k = 0; k < U.size(0); k += batch) {
    auto [A, D] = L::action_and_derivative(action, U.slice(0, k, std::min(k + batch, U.size(0))), false);
    a.push_back(A.detach().to(torch::kDouble));
    d.push_back(D.detach().to(torch::kDouble));
  }
  return {torch::cat(a), torch::cat(d)};
}

// Lattice symmetries of a gauge field (lattice/hypercubic.h): the axis swaps 0 <-> ν and the reflections.
std::vector<std::pair<std::string, std::function<torch::Tensor(const torch::Tensor&)>>> symmetries(int64_t D) {
  std::vector<std::pair<std::string, std::function<torch::Tensor(const torch::Tensor&)>>> out;
  for (int64_t nu = 1; nu < D; ++nu)
    out.push_back({fmt::format("swap 0<->{}", nu), [nu, D](const torch::Tensor& U) {
                     std::vector<int64_t> swap(static_cast<size_t>(D));
                     std::iota(swap.begin(), swap.end(), 0);
                     std::swap(swap[0], swap[static_cast<size_t>(nu)]);
                     return L::permute_axes(U, swap);
                   }});
  for (int64_t mu = 0; mu < D; ++mu)
    out.push_back({fmt::format("reflect {}", mu), [mu](const torch::Tensor& U) { return L::reflect_axis(U, mu); }});
  return out;
}

void run_evaluate(const CommonOptions& opt) {
  const fs::path model_dir = opt.extra.at("model");
  const fs::path checkpoint = model_dir / "model" / "checkpoint.h5";
  if (!fs::exists(checkpoint))
    throw InputError("'" + model_dir.string() + "' is not a `blockspin train` fp_action run (no model/checkpoint.h5)");
  json stored = run::read_checkpoint_config(checkpoint, "training_checkpoint");
  if (stored.value("task", "") != "fp_action")
    throw InputError("'" + model_dir.string() + "': not an fp_action model (task '" + stored.value("task", "") + "')");
  // The training run's own data setup (before --set): the affine fits of the classical actions use its train split.
  json trained = stored;
  trained.erase("evaluate");
  // --config / --set: keys of the training config to replace (e.g. data.files for other data), plus "evaluate".
  if (!opt.config.empty()) stored.merge_patch(Config::load(opt.config).resolved());
  json evaluate_block = stored.value("evaluate", json::object());
  stored.erase("evaluate");
  std::vector<std::string> train_overrides, evaluate_overrides;
  for (const auto& o : opt.overrides)
    (o.rfind("evaluate.", 0) == 0 ? evaluate_overrides : train_overrides).push_back(o);
  Config cfg = Config::from_json(stored, train_overrides, checkpoint.string());
  // The evaluate block under its own root, so that errors name the full key (evaluate.split, ...).
  Config ev_root = Config::from_json({{"evaluate", evaluate_block}}, evaluate_overrides, "evaluate");
  Config ev = ev_root.child("evaluate");
  FpSetup s = read_fp_setup(cfg);
  const std::string split = ev.get<std::string>("split", "test", support::Check::one_of({"test", "val", "all"}));
  const int64_t batch = ev.get<int64_t>("batch_size", 4, support::Check::positive());
  const auto names = ev.get<std::vector<std::string>>("baselines", {"wilson", "symanzik", "iwasaki", "dbw2"});
  const double locality_beta = ev.get<double>("locality_beta", 5.0, support::Check::positive());
  // The model averaged over a lattice symmetry group (lcnn/fp_action_model.h); by default as it was trained.
  const std::string symmetrise =
      ev.get<std::string>("symmetrise", trained_model_spec(model_dir).value("symmetrise", std::string("none")),
                          support::Check::one_of(lcnn::symmetrise_choices()));
  // The classical actions' affine fits: least squares on the train split of the model's training data (the issue's
  // "best affine fit on the training set"), whatever data is evaluated; evaluate.fit_files names other files (their
  // train split by the training run's seed and fractions), e.g. to compare models trained on different data.
  Config trained_cfg = Config::from_json(trained, {}, checkpoint.string());
  FpSetup fit_setup = read_fp_setup(trained_cfg);
  fit_setup.files = ev.get<std::vector<std::string>>("fit_files", fit_setup.files);
  if (fit_setup.files.empty()) throw ConfigError("config key 'evaluate.fit_files': give at least one fp_data.h5 file");
  for (const auto& n : names)
    if (n == "rectangle" ||
        std::find(L::GaugeAction::names().begin(), L::GaugeAction::names().end(), n) == L::GaugeAction::names().end())
      throw ConfigError("config key 'evaluate.baselines': unknown action '" + n + "'");
  ev_root.check_unused();

  auto model = load_fp_action_model(trained_model_spec(model_dir), checkpoint, model_dir.string());
  model->options.symmetrise(symmetrise);
  const FpRows rows = load_rows(s);
  if (L::n_dims(rows.coarse.links) != model->options.dims())
    throw InputError(
        fmt::format("the data has D = {}, the model D = {}", L::n_dims(rows.coarse.links), model->options.dims()));
  if (const auto card = read_model_card(model_dir); card && card->n_colors != L::n_colors(rows.coarse.links))
    throw InputError(fmt::format("the model was trained on SU({}) data, '{}' holds SU({}) configurations",
                                 card->n_colors, s.files.front(), L::n_colors(rows.coarse.links)));
  // The fit rows (the train split of evaluate.fit_files), read before anything is written.
  const bool fit_on_evaluated = same_rows_and_splits(fit_setup, s);
  const FpRows fit_rows = fit_on_evaluated ? FpRows{} : load_rows(fit_setup);
  if (!fit_on_evaluated)
    check_same_configurations(fit_rows.coarse.links, "'" + fit_setup.files.front() + "' (evaluate.fit_files)",
                              rows.coarse.links, "the evaluated data");
  if (config_checked(opt, ev_root)) return;
  const run::RunDirectory run("evaluate", {opt.out, opt.force, false},
                              {{"model", model_dir.string()}, {"evaluate", ev_root.resolved().at("evaluate")}});
  const auto splits = split_rows(rows, s);
  const auto eval_idx = split == "all" ? torch::arange(rows.coarse.size(), torch::kLong) : splits.at(split);
  if (eval_idx.numel() == 0) throw InputError("the '" + split + "' split is empty");
  const auto links = rows.coarse.links.to(torch::kComplexDouble);
  const auto U_eval = links.index_select(0, eval_idx);
  const auto A_fp = rows.results.action.index_select(0, eval_idx).to(torch::kDouble);
  const auto D_fp = rows.results.derivatives.index_select(0, eval_idx).to(torch::kDouble);
  const FpRows& fr = fit_on_evaluated ? rows : fit_rows;
  const auto fit_idx = fit_on_evaluated ? splits.at("train") : split_rows(fr, fit_setup).at("train");
  const auto U_fit = fr.coarse.links.index_select(0, fit_idx).to(torch::kComplexDouble);
  const auto A_fp_fit = fr.results.action.index_select(0, fit_idx).to(torch::kDouble);
  const auto beta = rows.coarse.beta_wil.index_select(0, eval_idx).to(torch::kDouble);
  const double V = static_cast<double>(L::volume(links)), N = static_cast<double>(L::n_colors(links));
  const double norm = 2.0 * static_cast<double>(L::n_dims(links)) * (N * N - 1) * V;
  spdlog::info("evaluate: {} {} configurations, affine fits on {} training configurations of {}", eval_idx.numel(),
               split, U_fit.size(0), fmt::join(fit_setup.files, ", "));

  json metrics{{"task", "fp_action"},
               {"model", model_dir.string()},
               {"split", split},
               {"symmetrise", symmetrise},
               {"files", s.files},
               {"fit", {{"files", fit_setup.files}, {"n", U_fit.size(0)}}},
               {"blockspin_version", BLOCKSPIN_VERSION}};
  const L::ActionFunctional model_action = [&](const torch::Tensor& U) { return model->forward(U); };
  auto [A, D] = values_and_derivatives(model_action, U_eval, batch);
  const FpScores model_scores = fp_scores(A, D, A_fp, D_fp, beta, norm);
  metrics["model"] = score_json(model_scores);
  std::vector<FpScores> baseline_scores;
  std::vector<std::pair<std::string, torch::Tensor>> deviations{{"FP L-CNN", (D_fp - D).flatten()}};
  for (const auto& name : names) {
    const auto action = L::GaugeAction::from_name(name, 1.0);
    const L::ActionFunctional f = [&](const torch::Tensor& U) { return action(U); };
    // Best affine fit a S + b to A_FP on the training split (least squares).
    const auto S_fit = std::get<0>(values_and_derivatives(f, U_fit, batch));
    const auto X = torch::stack({S_fit, torch::ones_like(S_fit)}, 1);
    const auto coef = std::get<0>(torch::linalg_lstsq(X, A_fp_fit.unsqueeze(1))).flatten();
    const double a = coef[0].item<double>(), b = coef[1].item<double>();
    auto [S, DS] = values_and_derivatives(f, U_eval, batch);
    baseline_scores.push_back(fp_scores(a * S + b, a * DS, A_fp, D_fp, beta, norm));
    auto j = score_json(baseline_scores.back());
    j["fit"] = {{"a", a}, {"b", b}};
    metrics["baselines"][name] = j;
    deviations.emplace_back(name + " (affine fit)", (D_fp - a * DS).flatten());
  }
  // Coverage: the Wilson action per site of the evaluated rows against the fit (training) rows', per β_wil.
  {
    torch::NoGradGuard no_grad;
    const auto W = L::GaugeAction::wilson(1.0);
    const auto fit_beta = fr.coarse.beta_wil.index_select(0, fit_idx).to(torch::kDouble);
    metrics["coverage"] = {
        {"observable", "Wilson action per site (beta = 1)"},
        {"per_beta", coverage_json(W(U_eval).to(torch::kDouble) / V, beta, W(U_fit).to(torch::kDouble) / V, fit_beta)}};
  }
  // The distribution of the derivative deviations D^FP − D per action: moments, quantiles, a histogram on shared bins.
  {
    double range = 0;
    for (const auto& [label, d] : deviations) range = std::max(range, d.abs().max().item<double>());
    const int64_t bins = 60;
    std::vector<io::PlotSeries> series;
    for (const auto& [label, d] : deviations) {
      const auto counts = torch::histc(d, bins, -range, range);
      const auto sorted = std::get<0>(d.sort());
      auto quantile = [&](double q) {
        return sorted[std::min<int64_t>(d.numel() - 1, static_cast<int64_t>(q * static_cast<double>(d.numel())))]
            .item<double>();
      };
      io::PlotSeries p{label, {}, {}};
      std::vector<double> c;
      for (int64_t i = 0; i < bins; ++i) {
        c.push_back(counts[i].item<double>());
        p.x.push_back(-range + (2.0 * static_cast<double>(i) + 1.0) * range / static_cast<double>(bins));
        p.y.push_back(std::max(c.back(), 0.5));  // log scale: empty bins drawn at 0.5
      }
      series.push_back(p);
      metrics["derivative_deviation"][label] = {
          {"mean", d.mean().item<double>()},
          {"std", d.std().item<double>()},
          {"quantiles", {{"0.01", quantile(0.01)}, {"0.5", quantile(0.5)}, {"0.99", quantile(0.99)}}},
          {"histogram", {{"range", {-range, range}}, {"counts", c}}}};
    }
    io::plot(run.dir() / "derivative_deviation",
             {"distribution of D^FP - D (" + split + " split)", "D^FP - D", "count", true, false, ""}, series);
  }
  // Improvement factors per β: the best baseline's error over the model's, with errors.
  metrics["improvement"] = improvement_json(model_scores, baseline_scores, names);
  // Lattice symmetries: max relative change of A over the evaluated configurations (first `batch` of them).
  {
    const auto U = U_eval.slice(0, 0, std::min<int64_t>(batch, U_eval.size(0)));
    torch::NoGradGuard no_grad;
    const auto A0 = model->forward(U).to(torch::kDouble);
    const auto W = L::GaugeAction::wilson(1.0);
    const auto W0 = W(U);
    for (const auto& [label, transform] : symmetries(L::n_dims(U))) {
      const auto T = transform(U);
      metrics["symmetries"][label] = {
          {"model_max_rel_change", ((model->forward(T).to(torch::kDouble) - A0).abs() / A0.abs()).max().item<double>()},
          {"wilson_max_rel_change", ((W(T) - W0).abs() / W0.abs()).max().item<double>()}};
    }
  }
  // Instantons (rows of kind instanton in the data files): A_FP and the model against 4π²/N.
  {
    FpRows all = load_rows(s.files, true);
    const auto inst = (all.coarse.kind == io::kFpKindInstanton).nonzero().flatten();
    for (int64_t k = 0; k < inst.numel(); ++k) {
      const int64_t i = inst[k].item<int64_t>();
      const auto U = all.coarse.links.narrow(0, i, 1).to(torch::kComplexDouble);
      torch::NoGradGuard no_grad;
      const double a_model = model->forward(U).item<double>(), a_fp = all.results.action[i].item<double>();
      const double continuum = 4.0 * M_PI * M_PI / N;
      metrics["instantons"].push_back({{"rho", all.coarse.rho[i].item<double>()},
                                       {"A_FP", a_fp},
                                       {"A_model", a_model},
                                       {"A_FP_over_continuum", a_fp / continuum},
                                       {"A_model_over_continuum", a_model / continuum}});
    }
  }
  // Locality D2S(r) on the evaluated configuration nearest to locality_beta, source link (0, μ = 0); the Wilson
  // action's profile on the same configuration (zero beyond r = 1) checks the machinery.
  {
    const auto k = (beta - locality_beta).abs().argmin().item<int64_t>();
    const auto U = U_eval.narrow(0, k, 1);
    const auto p = L::second_derivative_locality(model_action, U, 0);
    const auto W = L::GaugeAction::wilson(1.0);
    const auto pw = L::second_derivative_locality([&](const torch::Tensor& X) { return W(X); }, U, 0);
    double wilson_range = 0;
    for (size_t i = 0; i < pw.norm.size(); ++i)
      if (pw.norm[i] > 1e-12 * pw.norm[0]) wilson_range = std::max(wilson_range, pw.distance[i]);
    const auto fit = L::fit_exponential_decay(p.distance, p.norm, 0.5);
    metrics["locality"] = {{"beta_wil", beta[k].item<double>()},
                           {"source_link", "site 0, mu 0"},
                           {"r", p.distance},
                           {"D2S", p.norm},
                           {"fit",
                            {{"rate", fit.rate},
                             {"rate_error", fit.rate_error},
                             {"amplitude", fit.amplitude},
                             {"n", fit.n},
                             {"r_min", 0.5}}},
                           {"wilson_range", wilson_range}};
    io::PlotSeries pts{"FP L-CNN", p.distance, p.norm}, fitted{"exp fit", {}, {}};
    for (double r = 0.5; r <= *std::max_element(p.distance.begin(), p.distance.end()); r += 0.05) {
      fitted.x.push_back(r);
      fitted.y.push_back(fit.amplitude * std::exp(-fit.rate * r));
    }
    io::plot(run.dir() / "locality", {"second-derivative locality D2S(r)", "r", "D2S", true, true, ""}, {pts, fitted});
    spdlog::info("locality at beta_wil = {}: D2S ~ exp(-({:.3f} +- {:.3f}) r) ({} links); Wilson range {}",
                 beta[k].item<double>(), fit.rate, fit.rate_error, fit.n, wilson_range);
  }
  support::write_json_atomic(run.dir() / "metrics.json", metrics);

  // The proceedings' Fig. 4: errors per β_wil, log y.
  for (const auto& [key, label] : std::vector<std::pair<std::string, std::string>>{
           {"relative_action_error", "relative error of the action"}, {"L2", "derivative loss L2"}}) {
    std::vector<io::PlotSeries> series;
    auto add = [&](const std::string& title, const json& per_beta) {
      io::PlotSeries p{title, {}, {}, {}};
      for (const auto& [b, v] : per_beta.items()) {
        p.x.push_back(std::stod(b));
        p.y.push_back(v[key].get<double>());
        p.err.push_back(v.value(key + "_err", 0.0));  // none for a β with one configuration
      }
      series.push_back(p);
    };
    add("FP L-CNN", metrics["model"]["per_beta"]);
    for (const auto& name : names) add(name + " (affine fit)", metrics["baselines"][name]["per_beta"]);
    io::plot(run.dir() / (key == "L2" ? "derivative_loss" : "relative_action_error"),
             {"FP action vs classical actions (" + split + " split)", "beta_wil", label, true, true,
              "set offsets graph 0.03, graph 0.03, 0, 0"},
             series);
  }
  fmt::print("model: relative action error {:.3e}, L2 {:.3e} ({} configurations)\n",
             metrics["model"]["relative_action_error"].get<double>(), metrics["model"]["L2"].get<double>(),
             eval_idx.numel());
  for (const auto& name : names)
    fmt::print("{} (a S + b): relative action error {:.3e}, L2 {:.3e}\n", name,
               metrics["baselines"][name]["relative_action_error"].get<double>(),
               metrics["baselines"][name]["L2"].get<double>());
  fmt::print("results written to {}\n", (run.dir() / "metrics.json").string());
}

const CommandRegistrar evaluate_registrar(
    {"evaluate",
     "a trained FP-action model against the affine-fitted classical actions per beta_wil (relative action error, "
     "derivative loss), lattice symmetries, instantons (config keys evaluate.split, evaluate.baselines, "
     "evaluate.batch_size, evaluate.locality_beta, evaluate.fit_files, evaluate.symmetrise)",
     false,
     run_evaluate,
     {{"model", "directory of a `blockspin train` fp_action run"}},
     /*config_required=*/false,
     "output directory (metrics.json, relative_action_error.png, derivative_loss.png, locality.png)"});

}  // namespace
}  // namespace blockspin::apps
