// `blockspin train-flow` and `blockspin sample` end to end on tiny lattices (2x2 -> 4x4 IR matching, 1D UV matching
// with an extension): outputs and keys, bitwise resume after an injected crash, bad keys named, NaN stop, sampling.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "support/config.h"
#include "apps/readers/flow_run.h"
#include "io/h5io.h"
#include "support/atomic_file.h"
#include "run_blockspin.h"
#include "run_files.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using nlohmann::json;
using namespace blockspin::apps;
using namespace blockspin::io;
using namespace blockspin::support;
using blockspin::apps::testing::checkpoint_parameters;
using blockspin::apps::testing::fresh_test_dir;
using blockspin::apps::testing::read_json;
using blockspin::apps::testing::run_blockspin;

namespace {

class TrainFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fresh_test_dir("blockspin_train_flow_");
    std::ofstream(dir / "ir.json") << R"({
      "seed": 3,
      "action": {"kappa": 0.2, "lambda": 0.01},
      "flow": {"coarse_shape": [2, 2], "levels": 1, "features": 3, "time_kernels": 2, "feature_bond": 2,
               "time_bond": 2, "cnf_steps": 2},
      "training": {"steps": 6, "batch_size": 8, "checkpoint_every": 2, "log_every": 2,
                   "langevin": {"therm": 100, "steps": 10}, "hmc": {"therm": 10},
                   "bank": {"size": 40, "chains": 8, "therm": 10}},
      "eval": {"n": 64, "batch_size": 32, "coarse_chains": 8, "coarse_therm": 10, "n_hmc": 64, "hmc_chains": 4,
               "hmc_therm": 10}
    })";
    std::ofstream(dir / "uv.json") << R"({
      "seed": 5,
      "action": {"kappa": 0.1, "lambda": 0.01},
      "flow": {"coarse_shape": [4], "levels": 1, "kernel_size": 3, "features": 3, "time_kernels": 2,
               "feature_bond": 2, "time_bond": 2, "cnf_steps": 2},
      "training": {"matching": "uv", "steps": 4, "batch_size": 8, "checkpoint_every": 1,
                   "hmc": {"therm": 10}, "bank": {"size": 40, "chains": 8, "therm": 10},
                   "uv": {"extensions": 1, "retrain_steps": 2}},
      "eval": {"n": 64, "batch_size": 32, "coarse_chains": 8, "coarse_therm": 10, "n_hmc": 32, "hmc_chains": 4,
               "hmc_therm": 10}
    })";
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string train(const std::string& cfg, const std::string& out, const std::string& extra = "") {
    return "train-flow --config " + (dir / cfg).string() + " --out " + (dir / out).string() + " " + extra;
  }
  fs::path dir;
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void expect_same_run(const fs::path& a, const fs::path& b) {
  EXPECT_EQ(read_text(a / "metrics.jsonl"), read_text(b / "metrics.jsonl"));
  auto pa = checkpoint_parameters(a / "checkpoint.h5", "flow_checkpoint"),
       pb = checkpoint_parameters(b / "checkpoint.h5", "flow_checkpoint");
  ASSERT_EQ(pa.size(), pb.size());
  ASSERT_GT(pa.size(), 0u);
  for (const auto& [name, t] : pa) EXPECT_TRUE(torch::equal(t, pb.at(name))) << name;
  H5::H5File fa = open_h5(a / "checkpoint.h5", "flow_checkpoint"), fb = open_h5(b / "checkpoint.h5", "flow_checkpoint");
  EXPECT_EQ(read_double_attribute(fa, "kappa"), read_double_attribute(fb, "kappa"));
  // The trainer archive itself is not byte-comparable: LibTorch keys the Adam state by TensorImpl addresses, which
  // differ between processes. Every step after the resume point (loss, ESS, couplings at full precision in
  // metrics.jsonl), the final parameters and the evaluation pin down the resumed state instead.
  auto ma = read_json(a / "metrics.json"), mb = read_json(b / "metrics.json");
  for (const char* key : {"ess", "acceptance", "kappa_coarse", "kappa_fine", "reverse_kl", "observables", "tau_int"})
    EXPECT_EQ(ma[key], mb[key]) << key;
}

}  // namespace

TEST_F(TrainFlowTest, WritesMetricsCheckpointAndPlots) {
  auto r = run_blockspin(train("ir.json", "out"));
  ASSERT_EQ(r.status, 0) << r.output;
  const fs::path out = dir / "out";
  const auto m = read_json(out / "metrics.json");
  for (const char* key : {"ess", "acceptance", "kappa_coarse", "lambda_coarse", "kappa_fine", "reverse_kl"})
    EXPECT_TRUE(m[key].is_number()) << key << " " << m.dump();
  EXPECT_GT(m["ess"].get<double>(), 0.0);
  EXPECT_LE(m["ess"].get<double>(), 1.0);
  EXPECT_GE(m["acceptance"].get<double>(), 0.0);
  EXPECT_LE(m["acceptance"].get<double>(), 1.0);
  EXPECT_EQ(m["kappa_fine"].get<double>(), 0.2);  // IR: fixed fine coupling, learned coarse one
  EXPECT_NE(m["kappa_coarse"].get<double>(), 0.2);
  EXPECT_TRUE(m["tau_int"]["tau_int"].is_number());
  // automatic coarse stride (the default): pilot τ_int, the stride it implies, and the per-round check
  EXPECT_EQ(m["config"]["eval"]["coarse_stride"], "auto");
  ASSERT_TRUE(m["coarse_pilot_tau_int"]["tau_int"].is_number()) << m.dump();
  EXPECT_EQ(
      m["coarse_stride"].get<int64_t>(),
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(4 * m["coarse_pilot_tau_int"]["tau_int"].get<double>()))));
  EXPECT_TRUE(m["coarse_tau_int"]["tau_int"].is_number()) << m.dump();
  EXPECT_EQ(m["ode_steps"], m["ode_steps_trained"]);
  EXPECT_EQ(m["fine_shape"], json::parse("[4, 4]"));
  EXPECT_TRUE(m["evaluated_checkpoint"] == "best" || m["evaluated_checkpoint"] == "final") << m.dump();
  EXPECT_TRUE(fs::exists(out / "best.h5"));
  for (const char* obs : {"abs_m", "chi", "binder", "xi2"}) {
    const auto& o = m["observables"][obs];
    for (const char* src : {"flow", "hmc"})
      EXPECT_TRUE(o[src]["mean"].is_number() && o[src]["error"].is_number()) << obs << " " << o.dump();
    EXPECT_TRUE(o.contains("deviation_sigma")) << obs;
  }
  EXPECT_EQ(m["config"]["training"]["steps"], 6);
  EXPECT_EQ(m["config"]["training"]["lr"], 0.01);  // paper defaults are recorded
  EXPECT_EQ(m["config"]["training"]["beta1"], 0.8);
  // one JSON line per step
  std::ifstream in(out / "metrics.jsonl");
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    const auto j = json::parse(line);
    EXPECT_EQ(j["step"].get<int64_t>(), ++n);
    for (const char* key : {"loss", "ess_per_n", "kappa", "lambda", "lr", "bank_ess"})
      EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(n, 6);
  for (const char* f : {"ess.gp", "ess.dat", "couplings.gp", "couplings.dat", "config.json", "checkpoint.h5"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  H5::H5File f = open_h5(out / "checkpoint.h5", "flow_checkpoint");
  EXPECT_EQ(read_int_attribute(f, "step"), 6);
}

TEST_F(TrainFlowTest, ResumeAfterCrashIsBitwiseIdentical) {
  ASSERT_EQ(run_blockspin(train("ir.json", "full")).status, 0);
  auto crashed = run_blockspin(train("ir.json", "resumed"), "BLOCKSPIN_TEST_CRASH_AFTER=3");
  ASSERT_EQ(crashed.status, 86) << crashed.output;
  {
    H5::H5File f = open_h5(dir / "resumed" / "checkpoint.h5", "flow_checkpoint");
    EXPECT_EQ(read_int_attribute(f, "step"), 2);  // the crash after step 3 loses the work since step 2
  }
  auto r = run_blockspin(train("ir.json", "resumed", "--resume"));
  ASSERT_EQ(r.status, 0) << r.output;
  expect_same_run(dir / "full", dir / "resumed");
  auto other = run_blockspin(train("ir.json", "resumed", "--resume --set training.lr=0.02"));
  EXPECT_EQ(other.status, 2) << other.output;
  EXPECT_NE(other.output.find("config differs"), std::string::npos) << other.output;
}

TEST_F(TrainFlowTest, UvMatchingWithExtensionResumesAcrossTheExtension) {
  auto full = run_blockspin(train("uv.json", "full"));
  ASSERT_EQ(full.status, 0) << full.output;
  const auto m = read_json(dir / "full" / "metrics.json");
  EXPECT_EQ(m["levels"], 2);
  EXPECT_EQ(m["fine_shape"], json::parse("[16]"));
  EXPECT_EQ(m["kappa_coarse"].get<double>(), 0.1);  // UV: fixed coarse coupling, learned fine one
  EXPECT_NE(m["kappa_fine"].get<double>(), 0.1);
  // steps 5 and 6 retrain after the extension; a crash after step 5 resumes from a 2-level checkpoint
  auto crashed = run_blockspin(train("uv.json", "resumed"), "BLOCKSPIN_TEST_CRASH_AFTER=5");
  ASSERT_EQ(crashed.status, 86) << crashed.output;
  auto r = run_blockspin(train("uv.json", "resumed", "--resume"));
  ASSERT_EQ(r.status, 0) << r.output;
  expect_same_run(dir / "full", dir / "resumed");
}

TEST_F(TrainFlowTest, ResumeAllowsOnlyStateNeutralConfigChanges) {
  auto crashed = run_blockspin(train("ir.json", "run"), "BLOCKSPIN_TEST_CRASH_AFTER=2");
  ASSERT_NE(crashed.status, 0) << crashed.output;
  {  // as if started by a version without flow.mix_init_scale: keys added since then take their defaults
    H5::H5File f((dir / "run" / "checkpoint.h5").string(), H5F_ACC_RDWR);
    auto stored = json::parse(read_string_attribute(f, "config"));
    ASSERT_EQ(stored["flow"].erase("mix_init_scale"), 1u);
    f.removeAttr("config");
    write_attribute(f, "config", stored.dump());
  }
  // the gradient method, logging and evaluation may change (e.g. adjoint after running out of memory) ...
  auto ok = run_blockspin(train("ir.json", "run", "--resume --set flow.adjoint=true eval.n=32"));
  ASSERT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find("resuming with changed 'eval.n', 'flow.adjoint'"), std::string::npos) << ok.output;
  EXPECT_EQ(read_json(dir / "run" / "metrics.json")["config"]["flow"]["adjoint"], true);
  // ... anything that defines the trained model or its training may not; the error names the keys
  auto bad = run_blockspin(train("ir.json", "run", "--resume --set flow.features=4 training.lr=0.1"));
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("'flow.features', 'training.lr'"), std::string::npos) << bad.output;
}

TEST_F(TrainFlowTest, BadKeysAreNamed) {
  struct Case {
    std::string set, expect;
  };
  const std::vector<Case> cases{
      {"training.matching=sideways", "'training.matching'"},
      {"flow.coarse_shape=[3,3]", "flow.coarse_shape"},
      {"flow.coarse_shape=[2,2,2]", "flow.coarse_shape"},
      {"flow.levels=\"two\"", "flow.levels"},
      {"training.lr=-1", "training.lr"},
      {"training.bank.size=41", "training.bank.size"},
      {"training.bank.resample_ess=1.5", "training.bank.resample_ess"},
      {"training.shards=-1", "training.shards"},
      {"training.shards=100000", "training.shards"},
      {"training.stesp=5", "training.stesp"},
      {"training.uv.extensions=1", "training.uv.extensions"},
      {"eval.coarse_stride=\"sometimes\"", "eval.coarse_stride"},
      {"eval.coarse_stride=0", "eval.coarse_stride"},
      {"eval.coarse_pilot=2", "eval.coarse_pilot"},
      {"eval.ode_steps=-1", "eval.ode_steps"},
      {"flow.solver=\"dopri5\"", "flow.solver"},
      {"training.ode_control.coarsen_below=2", "training.ode_control.coarsen_below"},
  };
  for (const auto& c : cases) {
    auto r = run_blockspin(train("ir.json", "bad", "--force --set '" + c.set + "'"));
    EXPECT_EQ(r.status, 2) << c.set << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.set << "\n" << r.output;
  }
}

TEST_F(TrainFlowTest, DivergenceStopsAndKeepsTheLastGoodCheckpoint) {
  auto r = run_blockspin(train("ir.json", "nan", "--set training.lr=1e12 training.checkpoint_every=1"));
  ASSERT_EQ(r.status, 5) << r.output;  // numerical stop (README, "Exit codes")
  EXPECT_NE(r.output.find("training stopped"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "nan" / "metrics.json"));
  if (fs::exists(dir / "nan" / "checkpoint.h5")) {
    EXPECT_NE(r.output.find("last good checkpoint (step "), std::string::npos) << r.output;
    for (const auto& [name, t] : checkpoint_parameters(dir / "nan" / "checkpoint.h5", "flow_checkpoint"))
      EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << name;
  }
}

TEST_F(TrainFlowTest, SampleFromATrainedModel) {
  ASSERT_EQ(run_blockspin(train("ir.json", "model")).status, 0);
  auto r = run_blockspin("sample --model " + (dir / "model").string() + " --n 50 --out " + (dir / "samples").string() +
                         " --set eval.n_hmc=0 eval.coarse_stride=3 eval.ode_steps=5");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = read_json(dir / "samples" / "metrics.json");
  EXPECT_EQ(m["coarse_stride"], 3);
  EXPECT_FALSE(m.contains("coarse_pilot_tau_int"));
  EXPECT_EQ(m["ode_steps"], 5);                                                               // the evaluated map
  EXPECT_EQ(m["ode_steps_trained"], read_json(dir / "model" / "metrics.json")["ode_steps"]);  // the checkpoint's
  EXPECT_GT(m["ess"].get<double>(), 0.0);
  EXPECT_LE(m["ess"].get<double>(), 1.0);
  EXPECT_GE(m["acceptance"].get<double>(), 0.0);
  EXPECT_LE(m["acceptance"].get<double>(), 1.0);
  EXPECT_EQ(m["n"], 50);
  EXPECT_TRUE(m["observables"]["chi"]["flow"]["mean"].is_number()) << m.dump();
  H5::H5File f = open_h5(dir / "samples" / "samples.h5", "flow_samples");
  EXPECT_EQ(dataset_shape(f, "fields"), (std::vector<int64_t>{50, 4, 4}));
  EXPECT_EQ(dataset_shape(f, "accepted"), (std::vector<int64_t>{50}));
  EXPECT_EQ(dataset_shape(f, "log_weights"), (std::vector<int64_t>{50}));
  auto chain = read_tensor(f, "chain");
  EXPECT_GE(chain.min().item<int64_t>(), 0);
  EXPECT_LT(chain.max().item<int64_t>(), 50);
  // not a model directory
  auto bad = run_blockspin("sample --model " + (dir / "nothing").string() + " --out " + (dir / "s2").string());
  EXPECT_EQ(bad.status, 4) << bad.output;  // input-file error
}

TEST(FlowConfigs, ShippedConfigsAreComplete) {
  // Every configs/flow_phi4_*.json parses, passes the train-flow reader and has no unknown (misspelt) key.
  int n = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(BLOCKSPIN_SOURCE_DIR) / "configs")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("flow_phi4_", 0) != 0 || entry.path().extension() != ".json") continue;
    ++n;
    EXPECT_NO_THROW({
      Config cfg = Config::load(entry.path().string());
      read_flow_setup(cfg);
      cfg.check_unused();
    }) << name;
  }
  EXPECT_GE(n, 7);
}

// flow.init_from: a 2 → 8 flow (two levels) starts from a trained 2 → 4 one — both levels carry its level, κ_coarse
// its learned value (checked after one step at a negligible learning rate); a missing source or another
// architecture is a config error naming the key.
TEST_F(TrainFlowTest, WarmStartFromASmallerTrainedFlow) {
  ASSERT_EQ(run_blockspin(train("ir.json", "small")).status, 0);
  const auto small = read_json(dir / "small" / "metrics.json");
  const std::string from = "--set 'flow.init_from=\"" + (dir / "small").string() + "\"' ";
  auto r = run_blockspin(
      train("ir.json", "deep", from + "--set flow.levels=2 training.steps=1 training.lr=1e-12 eval.n_hmc=0"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warm start from"), std::string::npos) << r.output;
  const std::string jsonl = read_file(dir / "deep" / "metrics.jsonl");
  const auto line = json::parse(jsonl.substr(0, jsonl.find('\n')));
  EXPECT_NEAR(line["kappa"].get<double>(), small["kappa_coarse"].get<double>(), 1e-9);
  H5::H5File fs_ = open_h5(dir / "small" / (small["evaluated_checkpoint"] == "best" ? "best.h5" : "checkpoint.h5"),
                           "flow_checkpoint");
  H5::H5File fd = open_h5(dir / "deep" / "checkpoint.h5", "flow_checkpoint");
  H5::Group gs = fs_.openGroup("parameters"), gd = fd.openGroup("parameters");
  int compared = 0;
  for (hsize_t i = 0; i < gd.getNumObjs(); ++i) {
    const std::string name = gd.getObjnameByIdx(i);
    std::string src = name;
    if (src.rfind("level1", 0) == 0) src.replace(0, 6, "level0");
    const auto a = read_tensor(gd, name), b = read_tensor(gs, src);
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-9) << name;
    ++compared;
  }
  EXPECT_GT(compared, 4);
  auto missing =
      run_blockspin(train("ir.json", "bad1", "--set 'flow.init_from=\"" + (dir / "nothing").string() + "\"'"));
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(missing.output.find("flow.init_from"), std::string::npos) << missing.output;
  auto other = run_blockspin(train("ir.json", "bad2", from + "--set flow.features=4"));
  EXPECT_EQ(other.status, 2) << other.output;
  EXPECT_NE(other.output.find("flow.init_from"), std::string::npos) << other.output;
}

// `export` of a trained flow: flow.pt as TorchScript, checked by the command against the C++ map and the sampling path,
// and by Python's torch.jit.load (tests/python/check_export.py) against the reference file.
TEST_F(TrainFlowTest, ExportWritesATorchScriptFlowThatPythonLoads) {
  ASSERT_EQ(run_blockspin(train("ir.json", "model", "--set flow.levels=2 training.steps=2 eval.n_hmc=0")).status, 0);
  auto r = run_blockspin("export --model " + (dir / "model").string() + " --out " + (dir / "export").string() +
                         " --set ode_steps=3");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto manifest = read_json(dir / "export" / "export.json");
  EXPECT_EQ(manifest["task"], "flow");
  const auto& entry = manifest["files"][0];
  EXPECT_EQ(entry["ode_steps"], 3);
  EXPECT_EQ(entry["fine_shape"], json::array({8, 8}));
  EXPECT_LE(entry["max_abs_field_deviation"].get<double>(), 1e-12);
  EXPECT_LE(entry["max_abs_log_q_deviation"].get<double>(), 1e-11);
  EXPECT_LE(entry["max_abs_deviation_from_sampling_path"].get<double>(), 1e-11);
  H5::H5File f = open_h5(dir / "export" / "reference_flow.h5", "export_reference");
  EXPECT_EQ(dataset_shape(f, "noise1"), (std::vector<int64_t>{3, 8, 8}));
  auto py = blockspin::apps::testing::run_export_check(dir / "export");
  EXPECT_EQ(py.status, 0) << py.output;
  EXPECT_NE(py.output.find("ok"), std::string::npos) << py.output;
  // A key of the other export kind is refused, naming it; nothing is written.
  auto bad = run_blockspin("export --model " + (dir / "model").string() + " --out " + (dir / "bad").string() +
                           " --set shapes=[[4,4]]");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("shapes"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir / "bad"));
}

// The shipped 4->32 model (models/flow_phi4_4to32, acceptance/ship_flow_model.sh) stays loadable by `sample`: a few
// proposals with exact Metropolis weights, at the RK4 step count (and rule) the model was evaluated with.
TEST_F(TrainFlowTest, ShippedFlowModelSamples) {
  const fs::path model = fs::path(BLOCKSPIN_SOURCE_DIR) / "models" / "flow_phi4_4to32";
  ASSERT_TRUE(fs::exists(model / "config.json")) << model;
  auto r = run_blockspin("sample --model " + model.string() + " --n 8 --out " + (dir / "shipped").string() +
                         " --set eval.n_hmc=0 eval.batch_size=8 eval.coarse_chains=8 eval.coarse_therm=20" +
                         " eval.coarse_stride=2");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = read_json(dir / "shipped" / "metrics.json");
  EXPECT_EQ(m["ode_steps"], read_json(model / "metrics.json")["ode_steps"]);
  EXPECT_EQ(m["config"]["flow"]["solver"], read_json(model / "config.json")["flow"]["solver"]);
  EXPECT_EQ(m["n"], 8);
  EXPECT_GT(m["ess"].get<double>(), 0.0);
}
