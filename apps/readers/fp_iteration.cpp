// Changes of A_FP and D^FP against the fp_data files an fp-data run minimised again (see fp_iteration.h).
#include "apps/readers/fp_iteration.h"

#include "io/h5io.h"
#include "lattice/layout.h"

#include <fmt/format.h>

#include <cmath>
#include <vector>

namespace blockspin::apps {

using nlohmann::json;

json compare_with_fp_inputs(const FpDataSetup& s, const io::FpCoarse& c, const io::FpResults& r) {
  json out = json::array();
  const double volume = static_cast<double>(lattice::volume(c.links));
  const auto converged = r.converged.to(torch::kBool);
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    const auto& in = s.inputs[i];
    if (!in.fp_data) continue;
    const auto mine = ((c.source == static_cast<int64_t>(i)) & converged).nonzero().flatten();
    H5::H5File f = io::open_h5(in.path, "fp_data");
    const auto rows = c.source_index.index_select(0, mine);
    const auto before = io::read_tensor(f, "action").to(torch::kDouble).index_select(0, rows);
    const auto d_before = io::read_tensor(f, "derivatives").to(torch::kDouble).index_select(0, rows);
    const auto after = r.action.to(torch::kDouble).index_select(0, mine);
    const auto d_after = r.derivatives.to(torch::kDouble).index_select(0, mine);
    const auto kind = c.kind.index_select(0, mine), beta = c.beta_wil.index_select(0, mine);
    const auto rho = c.rho.index_select(0, mine);
    const auto rel = (after - before) / before;
    std::string fine = "?";
    if (io::has_attribute(f, "config")) {
      const auto cfg = json::parse(io::read_string_attribute(f, "config"), nullptr, false);
      if (cfg.is_object() && cfg.contains("fine_action")) fine = cfg["fine_action"].dump();
    }
    json per_beta = json::array(), instantons = json::array();
    const auto betas = std::get<0>(at::_unique(beta.index({kind == io::kFpKindMonteCarlo}), /*sorted=*/true));
    for (const double b : std::vector<double>(betas.data_ptr<double>(), betas.data_ptr<double>() + betas.numel())) {
      const auto m = (kind == io::kFpKindMonteCarlo) & (beta == b);
      const auto x = rel.index({m});
      const int64_t n = x.size(0);
      const auto dd = (d_after.index({m}) - d_before.index({m})).norm() / d_before.index({m}).norm();
      per_beta.push_back(
          {{"beta_wil", b},
           {"n", n},
           {"action_per_site_before", before.index({m}).mean().item<double>() / volume},
           {"action_per_site_after", after.index({m}).mean().item<double>() / volume},
           {"relative_change", x.mean().item<double>()},
           {"relative_change_error", n > 1 ? x.std().item<double>() / std::sqrt(static_cast<double>(n)) : 0.0},
           {"max_abs_relative_change", x.abs().max().item<double>()},
           {"derivative_relative_change", dd.item<double>()}});
    }
    for (int64_t k = 0; k < mine.size(0); ++k)
      if (kind[k].item<int64_t>() == io::kFpKindInstanton)
        instantons.push_back({{"rho", rho[k].item<double>()},
                              {"action_before", before[k].item<double>()},
                              {"action_after", after[k].item<double>()},
                              {"relative_change", rel[k].item<double>()}});
    out.push_back(
        {{"input", i}, {"file", in.path}, {"fine_action", fine}, {"per_beta", per_beta}, {"instantons", instantons}});
  }
  return out;
}

void print_fp_iteration(const json& comparison) {
  for (const auto& e : comparison) {
    fmt::print("change against inputs[{}] '{}' (its fine action {}):\n", e["input"].get<size_t>(),
               e["file"].get<std::string>(), e["fine_action"].get<std::string>());
    fmt::print("{:>8} {:>4} {:>14} {:>14} {:>22} {:>12} {:>10}\n", "beta_wil", "n", "A_FP/site old", "A_FP/site new",
               "<dA/A>", "max|dA/A|", "|dD|/|D|");
    for (const auto& p : e["per_beta"])
      fmt::print("{:>8.3g} {:>4} {:>14.6f} {:>14.6f} {:>+11.3e} ± {:<8.1e} {:>12.3e} {:>10.3e}\n",
                 p["beta_wil"].get<double>(), p["n"].get<int64_t>(), p["action_per_site_before"].get<double>(),
                 p["action_per_site_after"].get<double>(), p["relative_change"].get<double>(),
                 p["relative_change_error"].get<double>(), p["max_abs_relative_change"].get<double>(),
                 p["derivative_relative_change"].get<double>());
    for (const auto& p : e["instantons"])
      fmt::print("instanton ρ = {:g}: A_FP {:.6f} -> {:.6f} ({:+.3e})\n", p["rho"].get<double>(),
                 p["action_before"].get<double>(), p["action_after"].get<double>(), p["relative_change"].get<double>());
  }
}

}  // namespace blockspin::apps
