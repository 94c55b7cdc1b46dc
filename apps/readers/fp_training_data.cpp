// The data side of the learned FP action (see fp_training_data.h).
#include "apps/readers/fp_training_data.h"

#include "apps/app.h"

#include "apps/readers/lattice_config.h"
#include "apps/readers/trainer_config.h"
#include "io/h5io.h"
#include "lattice/layout.h"
#include "lattice/rng.h"
#include "run/checkpoint.h"
#include "support/atomic_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <sstream>

namespace blockspin::apps {
namespace {

using nlohmann::json;
namespace L = blockspin::lattice;

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read the model architecture '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str(), nullptr, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    throw InputError("'" + path + "': not valid JSON (" + std::string(e.what()) + ")");
  }
}

}  // namespace

FpSetup read_fp_setup(Config& cfg) {
  FpSetup s;
  const auto seed = cfg.get<int64_t>("seed", 1, Check::non_negative());
  s.device = read_device(cfg);
  s.dtype = read_dtype(cfg);
  auto d = cfg.child("data");
  s.files = d.require<std::vector<std::string>>("files");
  if (s.files.empty()) throw ConfigError("config key 'data.files': give at least one fp_data.h5 file");
  s.instantons = d.get<bool>("instantons", false);
  s.val_fraction = d.get<double>("val_fraction", 0.1, Check::in_range(0, 0.5));
  s.test_fraction = d.get<double>("test_fraction", 0.1, Check::in_range(0, 0.5));
  s.holdout_betas = d.get<std::vector<double>>("holdout_betas", {});
  s.train_only_files = d.get<std::vector<std::string>>("train_only_files", {});
  s.augment = d.get<std::string>("augment", "none", Check::one_of({"none", "hypercubic"}));
  s.split_seed = d.get<int64_t>("seed", seed, Check::non_negative());
  auto m = cfg.child("model");
  const auto architecture = m.get<std::string>("architecture", "models/architectures/fp_action_paper.json");
  s.model_spec = m.has("spec") ? m.raw("spec") : read_json_file(architecture);
  s.init_from = m.get<std::string>("init_from", "");
  auto l = cfg.child("loss");
  s.w_value = l.get<double>("w_value", 1.0, Check::non_negative());
  s.w_derivative = l.get<double>("w_derivative", 1.0, Check::non_negative());
  TrainerOptions defaults;
  defaults.steps = 500;
  defaults.batch_size = 4;
  defaults.lr = 1e-3;
  defaults.lr_final = 1e-6;
  defaults.optimizer = "adamw";
  defaults.schedule = "plateau";
  defaults.log_every = 10;
  defaults.checkpoint_every = 50;
  defaults.eval_batch_size = 4;
  s.training = read_trainer_options(cfg.child("training"), defaults, seed);
  return s;
}

void check_same_configurations(const torch::Tensor& links, const std::string& what, const torch::Tensor& reference,
                               const std::string& reference_what) {
  if (links.sizes().slice(1) != reference.sizes().slice(1))
    throw InputError(fmt::format("{}: coarse_links has shape [{}] per configuration, {} has [{}]", what,
                                 fmt::join(links.sizes().slice(1), ", "), reference_what,
                                 fmt::join(reference.sizes().slice(1), ", ")));
}

FpRows load_rows(const std::vector<std::string>& files, bool instantons, int64_t min_rows) {
  std::vector<io::FpCoarse> cs;
  std::vector<io::FpResults> rs;
  for (const auto& file : files) {
    H5::H5File f = io::open_h5(file, "fp_data");
    auto c = io::read_fp_coarse(f);
    auto r = io::read_fp_results(f, c.size());
    if (!cs.empty()) check_same_configurations(c.links, "'" + file + "'", cs.front().links, "'" + files.front() + "'");
    cs.push_back(std::move(c));
    rs.push_back(std::move(r));
  }
  FpRows rows{io::concat(cs), io::concat(rs)};
  auto keep = rows.results.converged.to(torch::kBool);
  if (!instantons) keep = keep & (rows.coarse.kind == io::kFpKindMonteCarlo);
  const auto idx = keep.nonzero().flatten();
  if (idx.numel() < min_rows)
    throw InputError(fmt::format("the data files hold {} usable rows (converged{}), need >= {}", idx.numel(),
                                 instantons ? "" : ", Monte Carlo", min_rows));
  for (auto& [name, member] : io::fp_coarse_fields()) rows.coarse.*member = (rows.coarse.*member).index_select(0, idx);
  for (auto& [name, member] : io::fp_result_fields())
    rows.results.*member = (rows.results.*member).index_select(0, idx);
  if (rows.results.second_start.defined()) rows.results.second_start = rows.results.second_start.index_select(0, idx);
  return rows;
}

FpRows load_train_only_rows(const FpSetup& s, const FpRows& rows) {
  if (s.train_only_files.empty()) return {};
  FpRows extra = load_rows(s.train_only_files, /*instantons=*/true, /*min_rows=*/1);
  check_same_configurations(extra.coarse.links, "'" + s.train_only_files.front() + "' (data.train_only_files)",
                            rows.coarse.links, "'" + s.files.front() + "' (data.files)");
  return extra;
}

void add_train_only_rows(FpRows& rows, std::map<std::string, torch::Tensor>& splits, const FpRows& extra) {
  if (!extra.coarse.links.defined()) return;
  const int64_t n = rows.coarse.size();
  rows.coarse = io::concat(std::vector<io::FpCoarse>{rows.coarse, extra.coarse});
  rows.results = io::concat(std::vector<io::FpResults>{rows.results, extra.results});
  splits.at("train") = torch::cat({splits.at("train"), torch::arange(n, n + extra.coarse.size(), torch::kLong)});
}

bool same_rows_and_splits(const FpSetup& a, const FpSetup& b) {
  return a.files == b.files && a.instantons == b.instantons && a.val_fraction == b.val_fraction &&
         a.test_fraction == b.test_fraction && a.holdout_betas == b.holdout_betas && a.split_seed == b.split_seed;
}

std::map<std::string, torch::Tensor> split_rows(const FpRows& rows, const FpSetup& s) {
  const int64_t n = rows.coarse.size();
  auto gen = L::make_generator(static_cast<uint64_t>(s.split_seed));
  const auto perm = torch::randperm(n, gen, torch::kLong);
  std::vector<int64_t> train, val, test;
  const auto beta = rows.coarse.beta_wil.to(torch::kDouble);
  std::vector<int64_t> pool;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = perm[k].item<int64_t>();
    bool held = false;
    for (double b : s.holdout_betas) held |= std::abs(beta[i].item<double>() - b) < 1e-9;
    (held ? test : pool).push_back(i);
  }
  const auto m = static_cast<int64_t>(pool.size());
  const int64_t n_val = std::max<int64_t>(1, std::llround(s.val_fraction * static_cast<double>(m)));
  const int64_t n_test = s.holdout_betas.empty() ? std::max<int64_t>(1, std::llround(s.test_fraction * m)) : 0;
  if (m - n_val - n_test < 1) throw InputError(fmt::format("{} rows are too few for the splits", n));
  for (int64_t k = 0; k < m; ++k) (k < n_val ? val : k < n_val + n_test ? test : train).push_back(pool[k]);
  return {{"train", torch::tensor(train, torch::kLong)},
          {"val", torch::tensor(val, torch::kLong)},
          {"test", torch::tensor(test, torch::kLong)}};
}

void write_model_card(const std::filesystem::path& run_dir, const FpRows& rows, const nlohmann::json& spec) {
  const int64_t N = lattice::n_colors(rows.coarse.links);
  support::write_json_atomic(run_dir / "model" / "model.json", {{"task", "fp_action"},
                                                                {"group", fmt::format("SU{}", N)},
                                                                {"n_colors", N},
                                                                {"shape", lattice::extents(rows.coarse.links)},
                                                                {"spec", spec}});
}

std::optional<FpModelCard> read_model_card(const std::filesystem::path& run_dir) {
  const auto path = run_dir / "model" / "model.json";
  if (!std::filesystem::exists(path)) return std::nullopt;
  std::ifstream in(path);
  try {
    const auto j = nlohmann::json::parse(in);
    return FpModelCard{j.at("n_colors").get<int64_t>(), j.at("shape").get<std::vector<int64_t>>(), j.at("spec")};
  } catch (const nlohmann::json::exception& e) {
    throw support::InputError("'" + path.string() + "' is damaged (" + e.what() + ")");
  }
}

nlohmann::json trained_model_spec(const std::filesystem::path& run_dir) {
  if (const auto card = read_model_card(run_dir)) return card->spec;
  // A run made before model cards: the spec as its training config (stored in the checkpoint) reads it.
  const auto checkpoint = run_dir / "model" / "checkpoint.h5";
  const json stored = run::read_checkpoint_config(checkpoint, "training_checkpoint");
  if (stored.value("task", "") != "fp_action")
    throw InputError("'" + run_dir.string() + "': not an fp_action model (task '" + stored.value("task", "") + "')");
  support::Config training = support::Config::from_json(stored, {}, checkpoint.string());
  return read_fp_setup(training).model_spec;
}

lcnn::FpActionModel load_fp_action_model(const nlohmann::json& spec, const std::filesystem::path& checkpoint,
                                         const std::string& where) {
  lcnn::FpActionModel model{nullptr};
  try {
    model = lcnn::make_fp_action_model(spec);
  } catch (const std::invalid_argument& e) {
    throw InputError("'" + where + "': the stored model spec is invalid (" + e.what() + ")");
  }
  model->to(torch::kDouble);
  run::load_parameters(*model, checkpoint);
  return model;
}

}  // namespace blockspin::apps
