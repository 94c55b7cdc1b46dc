// End-to-end tests of `blockspin train` task fp_action on a tiny fp-data set (SU(2), coarse 2^4 -> fine 4^4):
// outputs and metrics, bitwise --resume after a crash, and bad input (one line, nothing written).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/script.h>
#include <torch/torch.h>

#include "io/ensemble_file.h"
#include "io/fp_data_file.h"
#include "io/h5io.h"
#include "run/metrics_log.h"
#include "run_blockspin.h"
#include "run_files.h"

#include <unistd.h>

#include <cstdio>
#include <limits>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace fs = std::filesystem;
using nlohmann::json;
using namespace blockspin::io;
using blockspin::apps::testing::checkpoint_parameters;
using blockspin::apps::testing::fresh_test_dir;
using blockspin::apps::testing::run_blockspin;

namespace {

// One fp-data set for all tests of this file (8 Monte Carlo configurations at two β_wil, ~10 s).
class TrainFpActionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // (fresh_test_dir names the directory after the current test, which a suite set-up does not have)
    data_dir = fs::temp_directory_path() / ("blockspin_train_fp_data_" + std::to_string(::getpid()));
    fs::remove_all(data_dir);
    fs::create_directories(data_dir);
    std::ofstream(data_dir / "fp.json") << R"({
      "lattice": {"shape": [2, 2, 2, 2]}, "group": "SU2",
      "generate": {"betas": [2.5, 4.0], "n_configs": 4, "n_therm": 5, "save_every": 1,
                   "algorithm": {"name": "heatbath", "or_steps": 1}},
      "instantons": {"enabled": false}, "minimiser": {"grad_tol": 1e-6, "max_iterations": 500},
      "batch_size": 4, "seed": 3})";
    const auto r =
        run_blockspin("fp-data --config " + (data_dir / "fp.json").string() + " --out " + (data_dir / "data").string());
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static void TearDownTestSuite() { fs::remove_all(data_dir); }
  void SetUp() override {
    dir = fresh_test_dir("blockspin_train_fp_");
    write_config("train.json", (data_dir / "data" / "fp_data.h5").string());
  }
  void TearDown() override { fs::remove_all(dir); }
  void write_config(const std::string& name, const std::string& data, const std::string& extra_model = "") {
    std::ofstream(dir / name) << R"({"task": "fp_action", "seed": 2,
      "data": {"files": [")" + data + R"("], "val_fraction": 0.2, "test_fraction": 0.2},
      "model": {"spec": {"network": {"layers": [{"type": "plaq"}, {"type": "lconvbilin", "out": 3, "kernel_size": 2},
                {"type": "trace"}, {"type": "linear", "out": 1}]}, "dims": 4)" +
                                     extra_model + R"(}},
      "training": {"steps": 8, "batch_size": 2, "log_every": 2, "checkpoint_every": 4, "lr": 0.01}})";
  }
  std::string train(const std::string& out, const std::string& extra = "", const std::string& config = "train.json") {
    return "train --config " + (dir / config).string() + " --out " + (dir / out).string() + " " + extra;
  }
  /// A copy of the data set with A_FP doubled (dir/doubled.h5).
  fs::path doubled_copy() const {
    const fs::path doubled = dir / "doubled.h5";
    fs::copy_file(data_dir / "data" / "fp_data.h5", doubled);
    H5::H5File f(doubled.string(), H5F_ACC_RDWR);
    H5::Group root = f.openGroup("/");
    const auto action = read_tensor(root, "action");
    f.unlink("action");
    write_tensor(root, "action", 2.0 * action);  // with its checksum
    return doubled;
  }
  static fs::path data_dir;
  fs::path dir;
};
fs::path TrainFpActionTest::data_dir;

}  // namespace

TEST_F(TrainFpActionTest, WritesMetricsPerSplitAndBeta) {
  const auto r = run_blockspin(train("out"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = json::parse(std::ifstream(dir / "out" / "metrics.json"));
  EXPECT_EQ(m["task"], "fp_action");
  EXPECT_EQ(m["curve"]["step"].size(), 4u);
  for (const char* split : {"val", "test"}) {
    ASSERT_TRUE(m.contains(split)) << split;
    EXPECT_GE(m[split]["n"].get<int64_t>(), 1);
    for (const char* key : {"L1", "L2", "relative_action_error"}) {
      EXPECT_TRUE(m[split][key].is_number()) << split << " " << key;
      EXPECT_GT(m[split][key].get<double>(), 0.0) << split << " " << key;
    }
    EXPECT_FALSE(m[split]["per_beta"].empty());
  }
  EXPECT_TRUE(fs::exists(dir / "out" / "model" / "checkpoint.h5"));
  EXPECT_TRUE(fs::exists(dir / "out" / "training_curve.dat"));
  // one metrics line per curve point, with the validation loss terms
  const auto lines = blockspin::run::read_metrics(dir / "out" / "model" / "metrics.jsonl");
  ASSERT_EQ(lines.size(), 4u);
  for (size_t k = 0; k < lines.size(); ++k) {
    EXPECT_EQ(lines[k]["step"], 2 * static_cast<int64_t>(k + 1));
    EXPECT_EQ(lines[k]["val_loss"].get<double>(), m["curve"]["val_loss"][k].get<double>());
    for (const char* key : {"loss", "val_L1", "val_L2", "val_relative_action_error", "lr", "seconds"})
      EXPECT_TRUE(lines[k][key].is_number()) << key;
  }
  // the model card: what the model was trained on
  const auto card = json::parse(std::ifstream(dir / "out" / "model" / "model.json"));
  EXPECT_EQ(card["n_colors"], 2);
  EXPECT_EQ(card["shape"], json::parse("[2, 2, 2, 2]"));
  EXPECT_EQ(card["spec"]["dims"], 4);
}

// Also with data.augment = "hypercubic" (the element of a row is a function of the step, not of the random stream),
// which really trains on transformed rows: other parameters than without.
TEST_F(TrainFpActionTest, ResumeAfterCrashIsBitwiseIdentical) {
  std::map<std::string, std::map<std::string, torch::Tensor>> params;
  for (const std::string augment : {"none", "hypercubic"}) {
    const std::string set = "--set data.augment=" + augment;
    ASSERT_EQ(run_blockspin(train("full_" + augment, set)).status, 0);
    const auto crashed = run_blockspin(train("part_" + augment, set), "BLOCKSPIN_TEST_CRASH_AFTER=6");
    ASSERT_EQ(crashed.status, 86) << crashed.output;
    const auto r = run_blockspin(train("part_" + augment, set + " --resume"));
    ASSERT_EQ(r.status, 0) << r.output;
    const auto a = checkpoint_parameters(dir / ("full_" + augment) / "model" / "checkpoint.h5", "training_checkpoint");
    const auto b = checkpoint_parameters(dir / ("part_" + augment) / "model" / "checkpoint.h5", "training_checkpoint");
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b.at(name))) << augment << " " << name;
    params[augment] = a;
    const auto ma = json::parse(std::ifstream(dir / ("full_" + augment) / "metrics.json"));
    const auto mb = json::parse(std::ifstream(dir / ("part_" + augment) / "metrics.json"));
    EXPECT_EQ(ma["test"], mb["test"]);
    EXPECT_EQ(ma["config"]["data"]["augment"], augment);
    // metrics.jsonl: the line the crashed run wrote past its checkpoint (step 6 > checkpoint 4) is not repeated
    auto la = blockspin::run::read_metrics(dir / ("full_" + augment) / "model" / "metrics.jsonl");
    auto lb = blockspin::run::read_metrics(dir / ("part_" + augment) / "model" / "metrics.jsonl");
    ASSERT_EQ(la.size(), 4u);
    ASSERT_EQ(lb.size(), la.size());
    for (size_t k = 0; k < la.size(); ++k) {
      la[k].erase("seconds");
      lb[k].erase("seconds");
      EXPECT_EQ(la[k], lb[k]) << augment << " line " << k;
    }
  }
  double differ = 0;
  for (const auto& [name, t] : params["none"])
    differ = std::max(differ, (t - params["hypercubic"].at(name)).abs().max().item<double>());
  EXPECT_GT(differ, 1e-6) << "the augmentation changed nothing";
}

// Bad values for export and evaluate keys: one line naming the key, exit 2 (a config error), nothing written; a model
// of another group than the data: exit 4 naming both groups.
TEST_F(TrainFpActionTest, ExportAndEvaluateRejectBadKeysAndWriteNothing) {
  ASSERT_EQ(run_blockspin(train("out")).status, 0);
  const std::string model = " --model " + (dir / "out").string();
  int k = 0;
  auto expect_config_error = [&](const std::string& command, const std::string& set, const std::string& key) {
    const fs::path out = dir / ("bad" + std::to_string(k++));
    const auto r = run_blockspin(command + model + " --out " + out.string() + " --set '" + set + "'");
    EXPECT_EQ(r.status, 2) << set << "\n" << r.output;
    EXPECT_NE(r.output.find(key), std::string::npos) << set << "\n" << r.output;
    EXPECT_FALSE(fs::exists(out)) << set;
  };
  expect_config_error("export", "shapes=[[2,2,2]]", "shapes");
  expect_config_error("export", "shapes=[[2,2,1,2]]", "shapes");
  expect_config_error("export", "shapes=4", "shapes");
  expect_config_error("export", "seed=-1", "seed");
  expect_config_error("export", "n_colors=3", "n_colors");                           // the model card says SU(2)
  expect_config_error("export", "shape=[[2,2,2,2]]", "unknown config key 'shape'");  // misspelt: unknown key
  expect_config_error("evaluate", "evaluate.split=train", "evaluate.split");
  expect_config_error("evaluate", "evaluate.batch_size=0", "evaluate.batch_size");
  expect_config_error("evaluate", "evaluate.baselines=[\"luscher\"]", "baselines");
  expect_config_error("evaluate", "evaluate.locality_beta=\"five\"", "evaluate.locality_beta");
  expect_config_error("evaluate", "evaluate.locality_bet=5", "evaluate.locality_bet");
  // A model card of another group than the data it is evaluated on.
  auto card = json::parse(std::ifstream(dir / "out" / "model" / "model.json"));
  card["n_colors"] = 3;
  std::ofstream(dir / "out" / "model" / "model.json") << card.dump();
  const auto r = run_blockspin("evaluate" + model + " --out " + (dir / "ev").string());
  EXPECT_EQ(r.status, 4) << r.output;
  EXPECT_NE(r.output.find("SU(3)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("SU(2)"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "ev"));
}

// `blockspin export` of the trained model: one TorchScript file per shape, checked against the C++ model (values and
// link derivatives, export.json), loaded by Python's torch.jit.load with the same outputs and gradients as the
// reference file (tests/python/check_export.py); bad model directories are input errors that write nothing.
// evaluate and export build the model the way fp-data and generate do, from the run's model card: a card whose spec
// was changed (here a bounded-below model with large τ, same parameters) changes what both of them evaluate; without a
// card (a run made before cards) both read the spec of the training config stored in the checkpoint.
TEST_F(TrainFpActionTest, EvaluateAndExportReadTheModelCard) {
  write_config("wilson.json", (data_dir / "data" / "fp_data.h5").string(), R"(, "prefactor": "wilson")");
  ASSERT_EQ(run_blockspin(train("out", "", "wilson.json")).status, 0);
  auto evaluate_and_export = [&](const std::string& tag) {
    const auto model = " --model " + (dir / "out").string();
    EXPECT_EQ(
        run_blockspin("evaluate" + model + " --out " + (dir / ("ev" + tag)).string() + " --set evaluate.split=all")
            .status,
        0);
    EXPECT_EQ(run_blockspin("export" + model + " --out " + (dir / ("ex" + tag)).string()).status, 0);
    H5::H5File ref = open_h5(dir / ("ex" + tag) / "reference_2x2x2x2.h5", "export_reference");
    return std::make_pair(json::parse(std::ifstream(dir / ("ev" + tag) / "metrics.json"))["model"]["L2"].get<double>(),
                          read_tensor(ref, "outputs"));
  };
  const auto [l2_plain, out_plain] = evaluate_and_export("1");
  const auto card_path = dir / "out" / "model" / "model.json";
  auto card = json::parse(std::ifstream(card_path));
  card["spec"]["positive_softness"] = 5.0;
  std::ofstream(card_path) << card.dump();
  const auto [l2_card, out_card] = evaluate_and_export("2");
  EXPECT_GT(std::abs(l2_card - l2_plain), 1e-6 * l2_plain);
  EXPECT_GT((out_card - out_plain).abs().max().item<double>(), 1e-6);
  // A run made before model cards: the spec of the training config stored in the checkpoint, the plain model again.
  fs::remove(card_path);
  const auto [l2_old, out_old] = evaluate_and_export("3");
  EXPECT_NEAR(l2_old, l2_plain, 1e-12 * l2_plain);
  EXPECT_LT((out_old - out_plain).abs().max().item<double>(), 1e-12);
}

TEST_F(TrainFpActionTest, ExportWritesCheckedTorchScriptThatPythonLoads) {
  ASSERT_EQ(run_blockspin(train("out")).status, 0);
  const auto r = run_blockspin("export --model " + (dir / "out").string() + " --out " + (dir / "exp").string() +
                               " --set shapes=[[2,2,2,2],[4,2,2,2]]");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = json::parse(std::ifstream(dir / "exp" / "export.json"));
  ASSERT_EQ(m["files"].size(), 2u);
  for (const auto& f : m["files"]) {
    EXPECT_TRUE(fs::exists(dir / "exp" / f["file"].get<std::string>())) << f;
    EXPECT_LT(f["max_rel_value_deviation"].get<double>(), 1e-12) << f;
    EXPECT_LT(f["max_rel_derivative_deviation"].get<double>(), 1e-12) << f;
  }
  const auto py = blockspin::apps::testing::run_export_check(dir / "exp");
  EXPECT_EQ(py.status, 0) << py.output;
  // The model averaged over the reflections traces like the plain one (checked in C++ and Python the same way).
  const auto rs = run_blockspin("export --model " + (dir / "out").string() + " --out " + (dir / "exp_refl").string() +
                                " --set shapes=[[2,2,2,2]] --set symmetrise=reflections");
  ASSERT_EQ(rs.status, 0) << rs.output;
  const auto ms = json::parse(std::ifstream(dir / "exp_refl" / "export.json"));
  EXPECT_LT(ms["files"][0]["max_rel_value_deviation"].get<double>(), 1e-12);
  EXPECT_LT(ms["files"][0]["max_rel_derivative_deviation"].get<double>(), 1e-12);
  EXPECT_EQ(blockspin::apps::testing::run_export_check(dir / "exp_refl").status, 0);

  // Not a train output, and a run without its checkpoint: input errors (4), nothing written.
  const auto missing =
      run_blockspin("export --model " + (dir / "nowhere").string() + " --out " + (dir / "e2").string());
  EXPECT_EQ(missing.status, 4) << missing.output;
  EXPECT_FALSE(fs::exists(dir / "e2"));
  fs::remove(dir / "out" / "model" / "checkpoint.h5");
  const auto no_ckpt = run_blockspin("export --model " + (dir / "out").string() + " --out " + (dir / "e3").string());
  EXPECT_EQ(no_ckpt.status, 4) << no_ckpt.output;
  EXPECT_NE(no_ckpt.output.find("checkpoint.h5"), std::string::npos) << no_ckpt.output;
  EXPECT_FALSE(fs::exists(dir / "e3"));
}

// `blockspin evaluate`: the model and the four affine-fitted classical actions per β_wil, improvement factors, the
// symmetry check (the Wilson action's change under the lattice symmetries is rounding: the transformations are
// symmetries), the plots; a directory without a model is an input error that writes nothing.
TEST_F(TrainFpActionTest, EvaluateComparesWithAffineFittedClassicalActions) {
  ASSERT_EQ(run_blockspin(train("out")).status, 0);
  const auto r = run_blockspin("evaluate --model " + (dir / "out").string() + " --out " + (dir / "ev").string() +
                               " --set evaluate.split=all");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = json::parse(std::ifstream(dir / "ev" / "metrics.json"));
  EXPECT_EQ(m["model"]["n"].get<int64_t>(), 8);
  EXPECT_EQ(m["model"]["per_beta"].size(), 2u);
  for (const char* name : {"wilson", "symanzik", "iwasaki", "dbw2"}) {
    const auto& b = m["baselines"][name];
    EXPECT_TRUE(b["fit"]["a"].is_number()) << name;
    EXPECT_GT(b["relative_action_error"].get<double>(), 0.0) << name;
    EXPECT_GT(b["L2"].get<double>(), 0.0) << name;
  }
  for (const auto& [beta, f] : m["improvement"].items()) EXPECT_GT(f["L2"].get<double>(), 0.0) << beta;
  EXPECT_EQ(m["symmetries"].size(), 7u);  // 3 axis swaps, 4 reflections
  for (const auto& [label, v] : m["symmetries"].items()) {
    EXPECT_LT(v["wilson_max_rel_change"].get<double>(), 1e-12) << label;
    EXPECT_TRUE(v["model_max_rel_change"].is_number()) << label;
  }
  // locality: a profile over every coarse link (2^4 sites x 4), the Wilson action's reach is its plaquettes (r <= 1)
  EXPECT_EQ(m["locality"]["D2S"].size(), 64u);
  EXPECT_LE(m["locality"]["wilson_range"].get<double>(), 1.0 + 1e-9);
  EXPECT_GT(m["locality"]["D2S"][0].get<double>(), 0.0);
  EXPECT_TRUE(fs::exists(dir / "ev" / "locality.gp"));
  // the deviation distributions: one per action, counts summing to every derivative component of the evaluated rows
  ASSERT_EQ(m["derivative_deviation"].size(), 5u);
  for (const auto& [label, d] : m["derivative_deviation"].items()) {
    double total = 0;
    for (const auto& c : d["histogram"]["counts"]) total += c.get<double>();
    EXPECT_EQ(total, 8.0 * 4 * 16 * 3) << label;  // 8 configurations x D x 2^4 sites x (N²−1)
    EXPECT_LE(d["quantiles"]["0.01"].get<double>(), d["quantiles"]["0.99"].get<double>()) << label;
  }
  EXPECT_TRUE(fs::exists(dir / "ev" / "relative_action_error.dat"));
  EXPECT_TRUE(fs::exists(dir / "ev" / "derivative_loss.gp"));
  const auto bad = run_blockspin("evaluate --model " + (dir / "nowhere").string() + " --out " + (dir / "e2").string());
  EXPECT_EQ(bad.status, 4) << bad.output;
  EXPECT_FALSE(fs::exists(dir / "e2"));
  // evaluate.symmetrise = reflections: the model averaged over the 16 reflections is invariant under them (the plain
  // one is not), not under the axis swaps; a value that is no group is one line, exit 2, nothing written.
  const auto rs = run_blockspin("evaluate --model " + (dir / "out").string() + " --out " + (dir / "ev_refl").string() +
                                " --set evaluate.split=all --set evaluate.symmetrise=reflections");
  ASSERT_EQ(rs.status, 0) << rs.output;
  const auto ms = json::parse(std::ifstream(dir / "ev_refl" / "metrics.json"));
  EXPECT_EQ(ms["symmetrise"], "reflections");
  EXPECT_EQ(m["symmetrise"], "none");
  for (int mu = 0; mu < 4; ++mu) {
    const std::string label = "reflect " + std::to_string(mu);
    EXPECT_GT(m["symmetries"][label]["model_max_rel_change"].get<double>(), 1e-9) << label;
    EXPECT_LT(ms["symmetries"][label]["model_max_rel_change"].get<double>(), 1e-13) << label;
  }
  EXPECT_GT(ms["symmetries"]["swap 0<->1"]["model_max_rel_change"].get<double>(), 1e-9);
  const auto rb = run_blockspin("evaluate --model " + (dir / "out").string() + " --out " + (dir / "e3").string() +
                                " --set evaluate.symmetrise=rotations");
  EXPECT_EQ(rb.status, 2) << rb.output;
  EXPECT_NE(rb.output.find("evaluate.symmetrise"), std::string::npos) << rb.output;
  EXPECT_FALSE(fs::exists(dir / "e3"));
}

// The classical actions' affine fits come from the train split of the model's training data, whatever data is
// evaluated (data.files overridden): on a copy of the data with A_FP doubled, the fitted (a, b) are the training
// data's; evaluate.fit_files = the doubled copy fits (2a, 2b) instead. Bad fit_files: one line, nothing written.
TEST_F(TrainFpActionTest, EvaluateFitsTheClassicalActionsOnTheTrainingData) {
  ASSERT_EQ(run_blockspin(train("out")).status, 0);
  const fs::path doubled = doubled_copy();
  auto evaluate = [&](const std::string& out, const std::string& sets) {
    const auto r = run_blockspin("evaluate --model " + (dir / "out").string() + " --out " + (dir / out).string() +
                                 " --set evaluate.split=all " + sets);
    EXPECT_EQ(r.status, 0) << r.output;
    return json::parse(std::ifstream(dir / out / "metrics.json"));
  };
  const auto plain = evaluate("ev0", "");
  const auto other_data = evaluate("ev1", "--set 'data.files=[\"" + doubled.string() + "\"]'");
  const auto other_fit = evaluate("ev2", "--set 'evaluate.fit_files=[\"" + doubled.string() + "\"]'");
  EXPECT_EQ(plain["fit"]["files"][0], (data_dir / "data" / "fp_data.h5").string());
  EXPECT_EQ(other_data["files"][0], doubled.string());
  EXPECT_EQ(other_data["fit"]["files"], plain["fit"]["files"]);
  EXPECT_EQ(other_fit["fit"]["files"][0], doubled.string());
  EXPECT_EQ(plain["fit"]["n"].get<int64_t>(), 4);  // 8 rows, 2 val, 2 test
  // coverage: the Wilson action per site of the 4 evaluated rows per β against the 4 training rows'
  ASSERT_EQ(plain["coverage"]["per_beta"].size(), 2u);
  int64_t n_training = 0;
  for (const auto& [beta, c] : plain["coverage"]["per_beta"].items()) {
    EXPECT_EQ(c["n"], 4) << beta;
    EXPECT_GT(c["mean"].get<double>(), 0.0) << beta;
    if (c.contains("training")) n_training += c["training"]["n"].get<int64_t>();
  }
  EXPECT_EQ(n_training, 4);
  for (const char* name : {"wilson", "symanzik", "iwasaki", "dbw2"}) {
    const auto& f0 = plain["baselines"][name]["fit"];
    const auto& f1 = other_data["baselines"][name]["fit"];
    const auto& f2 = other_fit["baselines"][name]["fit"];
    for (const char* c : {"a", "b"}) {
      const double x = f0[c].get<double>();
      EXPECT_NEAR(f1[c].get<double>(), x, 1e-12 * (1 + std::abs(x))) << name << " " << c;
      EXPECT_NEAR(f2[c].get<double>(), 2 * x, 1e-9 * (1 + std::abs(x))) << name << " " << c;
    }
  }
  // the model is scored against the evaluated data's A_FP: twice as far off on the doubled copy
  EXPECT_GT(other_data["model"]["relative_action_error"].get<double>(), 0.4);
  auto bad = run_blockspin("evaluate --model " + (dir / "out").string() + " --out " + (dir / "e3").string() +
                           " --set 'evaluate.fit_files=[]'");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("evaluate.fit_files"), std::string::npos) << bad.output;
  bad = run_blockspin("evaluate --model " + (dir / "out").string() + " --out " + (dir / "e4").string() +
                      " --set 'evaluate.fit_files=[\"" + (dir / "nowhere.h5").string() + "\"]'");
  EXPECT_EQ(bad.status, 4) << bad.output;
  EXPECT_NE(bad.output.find("nowhere.h5"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir / "e3"));
  EXPECT_FALSE(fs::exists(dir / "e4"));
}

TEST_F(TrainFpActionTest, BadInputIsOneLineAndWritesNothing) {
  // Not an fp_data file: input error (4) naming the file.
  std::ofstream(dir / "junk.h5") << "not hdf5";
  write_config("junk.json", (dir / "junk.h5").string());
  auto r = run_blockspin(train("o1", "", "junk.json"));
  EXPECT_EQ(r.status, 4) << r.output;
  EXPECT_NE(r.output.find("junk.h5"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "o1"));
  // A misspelt model key: config error (2) naming it.
  write_config("bad_model.json", (data_dir / "data" / "fp_data.h5").string(), R"(, "prefactr": "none")");
  r = run_blockspin(train("o2", "", "bad_model.json"));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("prefactr"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "o2"));
  // A model for D = 2 on 4D data.
  write_config("bad_dims.json", (data_dir / "data" / "fp_data.h5").string());
  std::string text;
  {
    std::ifstream in(dir / "bad_dims.json");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("\"dims\": 4"), 9, "\"dims\": 2");
  std::ofstream(dir / "bad_dims.json") << text;
  r = run_blockspin(train("o3", "", "bad_dims.json"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("D = "), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "o3"));
  // An unknown augmentation: config error naming the key and the choices.
  r = run_blockspin(train("o4", "--set data.augment=rotations"));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("config key 'data.augment'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("hypercubic"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "o4"));
}

// `generate` with action.model: HMC with β·A_model from the run directory and from its exported TorchScript file (the
// same chain to rounding), a crash and --resume bitwise identical to an uninterrupted run; bad models are one line
// naming the file, nothing written (TorchScript forwards that do not give one real action per configuration included).
TEST_F(TrainFpActionTest, GenerateSimulatesWithTheLearnedAction) {
  ASSERT_EQ(run_blockspin(train("out")).status, 0);
  ASSERT_EQ(run_blockspin("export --model " + (dir / "out").string() + " --out " + (dir / "exp").string() +
                          " --set shapes=[[2,2,2,2],[4,2,2,2]]")
                .status,
            0);
  std::ofstream(dir / "gen.json") << R"({"lattice": {"shape": [2, 2, 2, 2]}, "group": "SU2",
    "action": {"model": ")" + (dir / "out").string() +
                                         R"(", "beta": 2.0},
    "algorithm": {"name": "hmc", "steps": 8, "trajectory_length": 1.0, "accept_all_therm": 0},
    "n_therm": 4, "n_configs": 8, "save_every": 2, "n_chains": 2, "seed": 5})";
  auto generate = [&](const std::string& out, const std::string& extra = "", const std::string& env = "") {
    return run_blockspin(
        "generate --config " + (dir / "gen.json").string() + " --out " + (dir / out).string() + " " + extra, env);
  };
  auto r = generate("full");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("learned FP action"), std::string::npos) << r.output;
  const auto full = read_ensemble(dir / "full" / "ensemble.h5");
  EXPECT_EQ(full.links.size(0), 8);
  const double acceptance = full.history_accepted.mean().item<double>();
  EXPECT_GT(acceptance, 0.0);
  // kill -9 after update 5, then --resume: the same ensemble bit for bit
  ASSERT_EQ(generate("part", "", "BLOCKSPIN_TEST_CRASH_AFTER=5").status, 86);
  r = generate("part", "--resume");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto part = read_ensemble(dir / "part" / "ensemble.h5");
  EXPECT_TRUE(torch::equal(part.links, full.links));
  EXPECT_TRUE(torch::equal(part.history_delta_H, full.history_delta_H));
  // the exported file: the same Markov chain up to rounding
  const std::string pt = (dir / "exp" / "model_2x2x2x2.pt").string();
  r = generate("pt", "--set action.model=" + pt);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto via_pt = read_ensemble(dir / "pt" / "ensemble.h5");
  EXPECT_TRUE(torch::equal(via_pt.history_accepted, full.history_accepted));
  EXPECT_LT((via_pt.links - full.links).abs().max().item<double>(), 1e-10);

  // Bad models and settings: one line naming the file or key, nothing written.
  auto expect_error = [&](const std::string& set, int status, const std::string& text) {
    const auto out = dir / "bad";
    const auto b = generate("bad", "--set '" + set + "'");
    EXPECT_EQ(b.status, status) << set << "\n" << b.output;
    EXPECT_NE(b.output.find(text), std::string::npos) << set << "\n" << b.output;
    EXPECT_FALSE(fs::exists(out)) << set;
  };
  expect_error("action.model=" + (dir / "exp" / "model_4x2x2x2.pt").string(), 4, "model_4x2x2x2.pt");
  expect_error("action.model=" + (dir / "gen.json").string(), 4, "not a TorchScript model");
  expect_error("action.model=" + (dir / "nowhere").string(), 4, "does not exist");
  expect_error("group=SU3", 4, "trained on SU(2)");
  expect_error("lattice.shape=[2,2,2]", 4, "D = 4");
  expect_error("algorithm.name=heatbath", 2, "algorithm.name");
  expect_error("action.name=wilson", 2, "action.name");
  // TorchScript files whose forward does not return one real action per configuration: a scalar, one value per site,
  // a complex action, a forward that does not take the links.
  const std::vector<std::pair<std::string, std::string>> bad_forwards{
      {"scalar", "def forward(self, U):\n  return U.real.sum()\n"},
      {"per_site", "def forward(self, U):\n  return U.real.sum(-1).sum(-1).sum(1)\n"},
      {"complex", "def forward(self, U):\n  return U.sum([1, 2, 3, 4, 5, 6, 7])\n"},
      {"two_inputs", "def forward(self, U, V):\n  return U.real.sum([1, 2, 3, 4, 5, 6, 7])\n"}};
  for (const auto& [name, source] : bad_forwards) {
    torch::jit::Module m("BadAction");
    m.define(source);
    const auto file = dir / (name + ".pt");
    m.save(file.string());
    expect_error("action.model=" + file.string(), 4, file.string());
    if (name != "two_inputs") expect_error("action.model=" + file.string(), 4, "one real action per configuration");
  }
  // A model whose action turns NaN mid-run (√(Σ Re tr U + 14): finite near the identity, not once the links have
  // disordered): the run stops with one line naming the file, keeps its last checkpoint, writes no ensemble; --resume
  // from that checkpoint meets the same NaN at the same update.
  {
    torch::jit::Module m("TurnsNaN");
    m.define(
        "def forward(self, U):\n  s = U.real.diagonal(0, -2, -1).sum(-1).sum([1, 2, 3, 4, 5])\n"
        "  return 2.0 * (s + 14.0).sqrt()\n");
    const auto file = dir / "turns_nan.pt";
    m.save(file.string());
    const auto first = generate("nan", "--set action.model=" + file.string());
    ASSERT_EQ(first.status, 5) << first.output;
    EXPECT_NE(first.output.find("non-finite"), std::string::npos) << first.output;
    EXPECT_NE(first.output.find(file.string()), std::string::npos) << first.output;
    EXPECT_TRUE(fs::exists(dir / "nan" / "checkpoint.h5"));
    EXPECT_FALSE(fs::exists(dir / "nan" / "ensemble.h5"));
    const auto again = generate("nan", "--resume --set action.model=" + file.string());
    EXPECT_EQ(again.status, 5) << again.output;
    auto error_line = [](const std::string& out) { return out.substr(out.find("error:")); };
    EXPECT_EQ(error_line(again.output), error_line(first.output));
  }
  // A model whose weights are NaN: its action is not finite, refused before anything runs.
  {
    H5::H5File f((dir / "out" / "model" / "checkpoint.h5").string(), H5F_ACC_RDWR);
    H5::Group g = f.openGroup("parameters");
    for (hsize_t i = 0; i < g.getNumObjs(); ++i) {
      const auto name = g.getObjnameByIdx(i);
      const auto t = read_tensor(g, name);
      g.unlink(name);  // rewritten with its checksum: a well-formed file holding NaN weights
      write_tensor(g, name, torch::full_like(t, std::numeric_limits<double>::quiet_NaN()));
    }
  }
  expect_error("seed=5", 4, "not finite");
}

// The inception iteration's right-hand side: fp-data with fine_action.model = the trained model (on the fine lattice,
// whatever coarse lattice it was trained on) minimises A_model[U] + T[U, V] instead of the Wilson action's: the same
// coarse configurations get other, converged A_FP values; a TorchScript file of another lattice is refused.
TEST_F(TrainFpActionTest, FpDataWithTheLearnedFineAction) {
  ASSERT_EQ(run_blockspin(train("out")).status, 0);
  const std::string model = (dir / "out").string();
  auto r = run_blockspin("fp-data --config " + (data_dir / "fp.json").string() + " --out " +
                         (dir / "inception").string() + " --set fine_action.model=" + model);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("learned FP action"), std::string::npos) << r.output;
  H5::H5File a = open_h5(data_dir / "data" / "fp_data.h5", "fp_data");
  H5::H5File b = open_h5(dir / "inception" / "fp_data.h5", "fp_data");
  const auto wilson_rhs = read_fp_results(a, 8), learned_rhs = read_fp_results(b, 8);
  EXPECT_TRUE(torch::equal(read_fp_coarse(a).links, read_fp_coarse(b).links)) << "the same coarse configurations";
  EXPECT_TRUE(learned_rhs.converged.all().item<bool>());
  EXPECT_GT((learned_rhs.action - wilson_rhs.action).abs().min().item<double>(), 1e-6)
      << "the learned fine action was not used";
  EXPECT_LT((learned_rhs.action - learned_rhs.fine_action - learned_rhs.kernel).abs().max().item<double>(), 1e-10);
  // an exported file serves only its lattice: the fine lattice here is 4^4
  ASSERT_EQ(run_blockspin("export --model " + model + " --out " + (dir / "exp").string() + " --set shapes=[[2,2,2,2]]")
                .status,
            0);
  r = run_blockspin("fp-data --config " + (data_dir / "fp.json").string() + " --out " + (dir / "bad").string() +
                    " --set fine_action.model=" + (dir / "exp" / "model_2x2x2x2.pt").string());
  EXPECT_EQ(r.status, 4) << r.output;
  EXPECT_NE(r.output.find("shapes=[[4,4,4,4]]"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "bad"));
  r = run_blockspin("fp-data --config " + (data_dir / "fp.json").string() + " --out " + (dir / "bad").string() +
                    " --set fine_action.model=" + model + " --set fine_action.name=wilson");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_FALSE(fs::exists(dir / "bad"));
}

// data.train_only_files: their rows join the train split only. The val and test splits (and evaluate's classical
// fits) stay those of data.files, and the train-only rows enter the loss: at a learning rate too small to move the
// model, train-only rows with A_FP doubled change the training losses (the same batches) but not the validation loss.
// A train-only file of another lattice shape is one line naming it, exit 4, nothing written.
TEST_F(TrainFpActionTest, TrainOnlyFilesJoinTheTrainSplitOnly) {
  const fs::path doubled = doubled_copy();
  const std::string values = " --set loss.w_derivative=0 --set training.lr=1e-12 --set training.log_every=1";
  auto only = [](const std::string& file) { return " --set 'data.train_only_files=[\"" + file + "\"]'"; };
  ASSERT_EQ(run_blockspin(train("plain", values)).status, 0);
  ASSERT_EQ(run_blockspin(train("same", values + only((data_dir / "data" / "fp_data.h5").string()))).status, 0);
  auto r = run_blockspin(train("extra", values + only(doubled.string())));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("12 train (8 of them from data.train_only_files), 2 val, 2 test"), std::string::npos)
      << r.output;
  auto metrics = [&](const std::string& run) { return json::parse(std::ifstream(dir / run / "metrics.json")); };
  const auto plain = metrics("plain"), same = metrics("same"), extra = metrics("extra");
  EXPECT_EQ(plain["n_rows"], json::parse(R"({"train": 4, "train_only": 0, "val": 2, "test": 2})"));
  EXPECT_EQ(extra["n_rows"], json::parse(R"({"train": 12, "train_only": 8, "val": 2, "test": 2})"));
  double most = 0;  // the largest relative change of a training loss
  for (size_t k = 0; k < 8; ++k) {
    const double a = same["curve"]["loss"][k].get<double>(), b = extra["curve"]["loss"][k].get<double>();
    most = std::max(most, std::abs(b - a) / a);
    const double v = same["curve"]["val_loss"][k].get<double>();
    EXPECT_NEAR(extra["curve"]["val_loss"][k].get<double>(), v, 1e-9 * v) << k;
  }
  EXPECT_GT(most, 0.1);
  auto evaluate = [&](const std::string& run) {
    const auto e = run_blockspin("evaluate --model " + (dir / run).string() + " --out " +
                                 (dir / (run + "_ev")).string() + " --set evaluate.split=all");
    EXPECT_EQ(e.status, 0) << e.output;
    return metrics(run + "_ev");
  };
  const auto ev_plain = evaluate("plain"), ev_extra = evaluate("extra");
  EXPECT_EQ(ev_extra["fit"]["n"], ev_plain["fit"]["n"]);
  for (const char* c : {"a", "b"})
    EXPECT_EQ(ev_extra["baselines"]["wilson"]["fit"][c], ev_plain["baselines"]["wilson"]["fit"][c]) << c;
  // another lattice shape
  std::ofstream(dir / "fp_other.json") << R"({
    "lattice": {"shape": [2, 2, 2, 4]}, "group": "SU2",
    "generate": {"betas": [2.5], "n_configs": 1, "n_therm": 2, "save_every": 1,
                 "algorithm": {"name": "heatbath", "or_steps": 1}},
    "instantons": {"enabled": false}, "minimiser": {"grad_tol": 1e-6, "max_iterations": 500}, "seed": 3})";
  ASSERT_EQ(run_blockspin("fp-data --config " + (dir / "fp_other.json").string() + " --out " + (dir / "other").string())
                .status,
            0);
  const std::string other = (dir / "other" / "fp_data.h5").string();
  r = run_blockspin(train("bad", only(other)));
  EXPECT_EQ(r.status, 4) << r.output;
  EXPECT_NE(r.output.find(other), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("data.train_only_files"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "bad"));
}

// data.holdout_betas: the rows of these β_wil form the test split (all of them, nothing else), the rest is split into
// train and val at random.
TEST_F(TrainFpActionTest, HeldOutBetasFormTheTestSplit) {
  const auto r = run_blockspin(train("held", "--set 'data.holdout_betas=[4.0]'"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = json::parse(std::ifstream(dir / "held" / "metrics.json"));
  EXPECT_EQ(m["n_rows"], json::parse(R"({"train": 3, "train_only": 0, "val": 1, "test": 4})"));
  ASSERT_EQ(m["test"]["per_beta"].size(), 1u);
  EXPECT_TRUE(m["test"]["per_beta"].contains("4")) << m["test"]["per_beta"].dump();
  ASSERT_EQ(m["val"]["per_beta"].size(), 1u);
  EXPECT_TRUE(m["val"]["per_beta"].contains("2.5")) << m["val"]["per_beta"].dump();
}
