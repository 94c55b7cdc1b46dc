// Per-β scores of an FP action and the improvement over the classical actions, with errors (see fp_scores.h).
#include "apps/readers/fp_scores.h"

#include "lattice/gamma_method.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

namespace blockspin::apps {
namespace {

using nlohmann::json;

// Independent configurations: the Γ-method with window 0 (S = 0) is the standard error of the mean.
const lattice::GammaOptions kIndependent{0.0, -1};

std::vector<double> values(const torch::Tensor& t) {
  const auto c = t.to(torch::kCPU, torch::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

std::vector<double> distinct_betas(const torch::Tensor& beta) {
  std::set<double> betas;
  for (double b : values(beta)) betas.insert(b);
  return {betas.begin(), betas.end()};
}

bool finite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

torch::Tensor at_beta(const torch::Tensor& beta, double b) { return (beta - b).abs() < 1e-9; }

}  // namespace

FpScores fp_scores(const torch::Tensor& A, const torch::Tensor& D, const torch::Tensor& A_fp, const torch::Tensor& D_fp,
                   const torch::Tensor& beta, double norm) {
  return {((A_fp - A).abs() / A_fp.abs()).to(torch::kDouble),
          ((D_fp - D).pow(2).flatten(1).sum(1) / norm).to(torch::kDouble), beta.to(torch::kDouble)};
}

json score_json(const FpScores& s) {
  json j{
      {"n", s.rel.numel()}, {"relative_action_error", s.rel.mean().item<double>()}, {"L2", s.l2.mean().item<double>()}};
  for (double b : distinct_betas(s.beta)) {
    const auto m = at_beta(s.beta, b);
    json p{{"n", m.sum().item<int64_t>()}};
    for (const auto& [key, t] : {std::pair{"relative_action_error", s.rel}, std::pair{"L2", s.l2}}) {
      const auto v = values(t.index({m}));
      p[key] = t.index({m}).mean().item<double>();
      if (v.size() >= 2 && finite(v)) p[std::string(key) + "_err"] = lattice::gamma_method(v, kIndependent).error;
    }
    j["per_beta"][fmt::format("{:g}", b)] = p;
  }
  return j;
}

json improvement_json(const FpScores& model, const std::vector<FpScores>& baselines,
                      const std::vector<std::string>& names) {
  json out = json::object();
  if (baselines.empty()) return out;  // evaluate.baselines = []: nothing to compare with
  if (names.size() != baselines.size()) throw std::invalid_argument("improvement_json: one name per baseline");
  for (double b : distinct_betas(model.beta)) {
    const auto m = at_beta(model.beta, b);
    json p;
    for (const auto& [key, pick] :
         {std::pair{"relative_action_error", &FpScores::rel}, std::pair{"L2", &FpScores::l2}}) {
      const auto mine = values((model.*pick).index({m}));
      size_t best = 0;
      double best_mean = std::numeric_limits<double>::infinity();
      for (size_t i = 0; i < baselines.size(); ++i)
        if (const double v = (baselines[i].*pick).index({m}).mean().item<double>(); v < best_mean) {
          best_mean = v;
          best = i;
        }
      const auto theirs = values((baselines[best].*pick).index({m}));
      const double mean_mine = (model.*pick).index({m}).mean().item<double>();
      p[key] = best_mean / mean_mine;
      p[std::string("best_") + key] = names.at(best);
      if (mine.size() >= 2 && mean_mine > 0 && finite(mine) && finite(theirs))
        p[std::string(key) + "_err"] =
            lattice::gamma_method_derived(
                {{theirs}, {mine}}, [](const std::vector<double>& a) { return a[0] / a[1]; }, kIndependent)
                .error;
    }
    out[fmt::format("{:g}", b)] = p;
  }
  return out;
}

json coverage_json(const torch::Tensor& s, const torch::Tensor& beta, const torch::Tensor& s_train,
                   const torch::Tensor& beta_train) {
  auto moments = [](const torch::Tensor& t) {  // mean, sd (n − 1; 0 for one value)
    const auto d = t.to(torch::kDouble);
    return std::pair{d.mean().item<double>(), d.numel() > 1 ? d.std().item<double>() : 0.0};
  };
  json out = json::object();
  for (double b : distinct_betas(beta)) {
    const auto sel = s.index({at_beta(beta, b)});
    const auto [mean, sd] = moments(sel);
    json p{{"n", sel.numel()}, {"mean", mean}, {"sd", sd}};
    const auto tr = s_train.index({at_beta(beta_train, b)});
    if (tr.numel() > 0) {
      const auto [tmean, tsd] = moments(tr);
      p["training"] = {{"n", tr.numel()}, {"mean", tmean}, {"sd", tsd}};
      if (tr.numel() >= 2 && tsd > 0) p["shift"] = (mean - tmean) / tsd;
    }
    out[fmt::format("{:g}", b)] = p;
  }
  return out;
}

}  // namespace blockspin::apps
