// `blockspin train` (task wilson_loops) end to end on tiny lattices: outputs, bitwise resume, NaN stop, bad input;
// and the regression metrics.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/h5io.h"
#include "run/trainer.h"
#include "run_blockspin.h"
#include "run_files.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using nlohmann::json;
using namespace blockspin::apps;
using namespace blockspin::io;
using namespace blockspin::run;
using blockspin::apps::testing::checkpoint_parameters;
using blockspin::apps::testing::fresh_test_dir;
using blockspin::apps::testing::read_json;
using blockspin::apps::testing::run_blockspin;

namespace {

class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fresh_test_dir("blockspin_train_");
    std::ofstream(dir / "wl.json") << R"({
      "task": "wilson_loops", "group": "SU2", "seed": 3,
      "data": {"betas": [1.0, 4.0], "train_shape": [4, 4], "n_train": 6, "n_val": 2, "n_test": 2,
               "test_shapes": [[8, 4]], "n_therm": 3},
      "model": {"layers": [{"type": "plaq"}, {"type": "lconvbilin", "out": 2, "kernel_size": 2},
                           {"type": "trace"}, {"type": "linear", "out": 3}]},
      "baseline": {"hidden": [4]},
      "training": {"steps": 12, "batch_size": 4, "lr": 0.01, "lr_final": 0.001, "checkpoint_every": 4, "log_every": 2}
    })";
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string train(const std::string& out, const std::string& extra = "") {
    return "train --config " + (dir / "wl.json").string() + " --out " + (dir / out).string() + " " + extra;
  }
  fs::path dir;
};

}  // namespace

TEST(RegressionMetrics, ExactValues) {
  auto y = torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kDouble).reshape({2, 2});  // [n, targets]
  auto m = regression_metrics(y, y, {"a", "b"});
  EXPECT_EQ(m["mse"].get<double>(), 0.0);
  EXPECT_EQ(m["r2"].get<double>(), 1.0);
  // predicting the mean gives R² = 0; a constant offset c gives mse = c²
  auto mean = torch::full_like(y, 2.5);
  EXPECT_NEAR(regression_metrics(mean, y, {})["r2"].get<double>(), 0.0, 1e-15);
  auto off = regression_metrics(y + 0.5, y, {"a", "b"});
  EXPECT_NEAR(off["mse"].get<double>(), 0.25, 1e-15);
  // per target: column a = {1, 3} (variance sum 2), residual sum 2 * 0.25 -> R² = 1 - 0.5 / 2
  EXPECT_NEAR(off["targets"]["a"]["r2"].get<double>(), 0.75, 1e-15);
  EXPECT_NEAR(off["r2"].get<double>(), 1.0 - 1.0 / 5.0, 1e-15);
}

TEST_F(TrainTest, WritesMetricsCheckpointsDataAndPlotFiles) {
  auto r = run_blockspin(train("out"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = read_json(dir / "out" / "metrics.json");
  for (const char* model : {"lcnn", "baseline"}) {
    ASSERT_TRUE(m.contains(model)) << model;
    const auto& t = m[model]["test"]["8x4"];
    EXPECT_TRUE(t["mse"].is_number() && t["r2"].is_number()) << t.dump();
    for (const char* target : {"W1x1", "W1x2", "W2x2"}) EXPECT_TRUE(t["targets"][target]["r2"].is_number());
    EXPECT_GT(m[model]["n_parameters"].get<int64_t>(), 0);
    EXPECT_EQ(m[model]["curve"]["step"].size(), 6u);  // log_every 2 over 12 steps
    EXPECT_TRUE(fs::exists(dir / "out" / model / "checkpoint.h5"));
  }
  EXPECT_EQ(m["test"], m["lcnn"]["test"]);
  EXPECT_EQ(m["config"]["training"]["steps"], 12);
  EXPECT_TRUE(fs::exists(dir / "out" / "data.h5"));
  EXPECT_TRUE(fs::exists(dir / "out" / "training_curves.gp"));
  EXPECT_TRUE(fs::exists(dir / "out" / "training_curves.dat"));
  EXPECT_TRUE(fs::exists(dir / "out" / "predictions.gp"));
  // data: 2 β x 6 training configurations, targets [n, 3, 4, 4], the 1x1 target is the site plaquette in [-1, 1]
  H5::H5File f = open_h5(dir / "out" / "data.h5", "wilson_loop_data");
  H5::Group train = f.openGroup("train");
  EXPECT_EQ(dataset_shape(train, "links"), (std::vector<int64_t>{12, 2, 4, 4, 2, 2}));
  EXPECT_EQ(dataset_shape(train, "targets"), (std::vector<int64_t>{12, 3, 4, 4}));
  EXPECT_LE(read_tensor(train, "targets").abs().max().item<double>(), 1.0 + 1e-12);
}

// `blockspin export` of the trained L-CNN: the loops per site at two lattice shapes, checked against the C++ model and
// reproduced by Python's torch.jit.load (tests/python/check_export.py).
TEST_F(TrainTest, ExportedLcnnMatchesTheModelInCppAndPython) {
  ASSERT_EQ(run_blockspin(train("out")).status, 0);
  const auto r = run_blockspin("export --model " + (dir / "out").string() + " --out " + (dir / "exp").string() +
                               " --set shapes=[[4,4],[8,4]]");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = read_json(dir / "exp" / "export.json");
  EXPECT_EQ(m["task"], "wilson_loops");
  ASSERT_EQ(m["files"].size(), 2u);
  for (const auto& f : m["files"]) {
    EXPECT_LT(f["max_rel_value_deviation"].get<double>(), 1e-12) << f;
    EXPECT_LT(f["max_rel_derivative_deviation"].get<double>(), 1e-12) << f;
  }
  const auto py = blockspin::apps::testing::run_export_check(dir / "exp");
  EXPECT_EQ(py.status, 0) << py.output;
}

TEST_F(TrainTest, ResumeAfterCrashGivesIdenticalWeights) {
  ASSERT_EQ(run_blockspin(train("full")).status, 0);
  auto crashed = run_blockspin(train("resumed"), "BLOCKSPIN_TEST_CRASH_AFTER=6");
  ASSERT_EQ(crashed.status, 86) << crashed.output;
  {
    H5::H5File f = open_h5(dir / "resumed" / "lcnn" / "checkpoint.h5", "training_checkpoint");
    EXPECT_EQ(read_int_attribute(f, "step"), 4);  // the crash after step 6 loses the work since step 4
  }
  auto r = run_blockspin(train("resumed", "--resume"));
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* model : {"lcnn", "baseline"}) {
    auto a = checkpoint_parameters(dir / "full" / model / "checkpoint.h5", "training_checkpoint");
    auto b = checkpoint_parameters(dir / "resumed" / model / "checkpoint.h5", "training_checkpoint");
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b.at(name))) << model << " " << name;
  }
  const auto ma = read_json(dir / "full" / "metrics.json"), mb = read_json(dir / "resumed" / "metrics.json");
  EXPECT_EQ(ma["test"], mb["test"]);
  EXPECT_EQ(ma["lcnn"]["curve"], mb["lcnn"]["curve"]);
  // a different config is refused on resume
  auto other = run_blockspin(train("resumed", "--resume --set training.lr=0.02"));
  EXPECT_EQ(other.status, 2) << other.output;
  EXPECT_NE(other.output.find("config differs"), std::string::npos) << other.output;
  // training.steps may grow: the finished run trains on (both models) and is evaluated again; it may not shrink.
  auto longer = run_blockspin(train("full", "--resume --set training.steps=16"));
  ASSERT_EQ(longer.status, 0) << longer.output;
  for (const char* model : {"lcnn", "baseline"}) {
    H5::H5File f = open_h5(dir / "full" / model / "checkpoint.h5", "training_checkpoint");
    EXPECT_EQ(read_int_attribute(f, "step"), 16) << model;
  }
  EXPECT_EQ(read_json(dir / "full" / "metrics.json")["lcnn"]["curve"]["step"].back(), 16);
  auto shorter = run_blockspin(train("full", "--resume --set training.steps=8"));
  EXPECT_EQ(shorter.status, 2) << shorter.output;
  EXPECT_NE(shorter.output.find("training.steps: 8 is below step 16"), std::string::npos) << shorter.output;
}

TEST_F(TrainTest, DivergenceStopsAndKeepsTheLastGoodCheckpoint) {
  // a learning rate that grows by ~1e27 per step makes the loss overflow after a few steps
  auto r = run_blockspin(train(
      "nan",
      "--set training.lr=0.001 training.lr_final=1e300 training.checkpoint_every=2 --set baseline.enabled=false"));
  ASSERT_EQ(r.status, 5) << r.output;  // numerical stop (README, "Exit codes")
  EXPECT_NE(r.output.find("non-finite"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("last good checkpoint (step "), std::string::npos) << r.output;
  const auto ckpt = dir / "nan" / "lcnn" / "checkpoint.h5";
  ASSERT_TRUE(fs::exists(ckpt));
  for (const auto& [name, t] : checkpoint_parameters(ckpt, "training_checkpoint"))
    EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << name;
  H5::H5File f = open_h5(ckpt, "training_checkpoint");
  const auto step = read_int_attribute(f, "step");
  EXPECT_NE(r.output.find("step " + std::to_string(step) + ")"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "nan" / "metrics.json"));
}

TEST_F(TrainTest, BadInputNamesTheKey) {
  struct Case {
    std::string set, expect;
  };
  const std::vector<Case> cases{
      {"task=fit_everything", "'task'"},
      {"data.test_shapes=[[5,5]]", "data.test_shapes[0]"},
      {"data.test_shapes=[[8,8,8]]", "data.test_shapes[0]"},
      {"data.betas=[1.0,-2.0]", "data.betas[1]"},
      {"training.checkpoint_every=3", "training.checkpoint_every"},
      {R"(model={"layers":[{"type":"plaq"},{"type":"trace"},{"type":"linear","out":2}]})", "model"},
      {R"(model={"layers":[{"type":"plaq"},{"type":"lconv","out":2}]})", "kernel_size"},
  };
  for (const auto& c : cases) {
    auto r = run_blockspin(train("bad", "--force --set '" + c.set + "'"));
    EXPECT_EQ(r.status, 2) << c.set << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.set << "\n" << r.output;
  }
}
