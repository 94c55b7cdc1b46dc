// End-to-end tests of the `blockspin` executable: help, bad input (exit status, message, nothing written), a tiny run.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "run_blockspin.h"

#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

using blockspin::apps::testing::fresh_test_dir;
using blockspin::apps::testing::run_blockspin;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fresh_test_dir("blockspin_cli_");
    write("tiny.json", R"({
      "lattice": {"shape": [4, 3, 2, 2]}, "group": "SU2", "batch": 2, "seed": 7,
      "configurations": [
        {"name": "hot", "start": "hot"},
        {"name": "flux", "start": "flux", "fluxes": [{"plane": [0, 1], "n": 1}, {"plane": [2, 3], "n": 1}]}],
      "wilson_loops": [[1, 1], [1, 2]],
      "actions": [{"name": "wilson", "beta": 2.0}, {"name": "rectangle", "beta": 2.0, "c1": -0.2}]
    })");
  }
  void TearDown() override { fs::remove_all(dir); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir / name) << text; }
  std::string observe(const std::string& extra, const std::string& config = "tiny.json") {
    return "observe --config " + (dir / config).string() + " --out " + (dir / "out").string() + " " + extra;
  }
  fs::path dir;
};

}  // namespace

TEST_F(CliTest, HelpListsSubcommands) {
  auto r = run_blockspin("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("observe"), std::string::npos) << r.output;
  auto sub = run_blockspin("observe --help");
  EXPECT_EQ(sub.status, 0);
  for (const char* opt : {"--config", "--set", "--out", "--force"}) EXPECT_NE(sub.output.find(opt), std::string::npos);
}

TEST_F(CliTest, TinyRunMatchesExactValues) {
  auto r = run_blockspin(observe(""));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("results written to"), std::string::npos);
  std::ifstream in(dir / "out" / "observables.json");
  auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["configurations"].size(), 2u);
  const auto& flux = j["configurations"][1];
  EXPECT_LT(flux["max_deviation_from_exact"].get<double>(), 1e-12);
  EXPECT_NEAR(flux["exact"]["topological_charge_continuum"].get<double>(), 2.0, 1e-12);  // SU(2): 2 n n'
  for (const auto& c : j["configurations"]) {
    EXPECT_LT(c["gauge_invariance_max_deviation"].get<double>(), 1e-12);
    for (auto& [name, dev] : c["derivative_analytic_vs_autograd"].items()) EXPECT_LT(dev.get<double>(), 1e-12) << name;
  }
  EXPECT_EQ(j["config"]["lattice"]["shape"], nlohmann::json::parse("[4, 3, 2, 2]"));
  EXPECT_EQ(j["config"]["dtype"], "float64");  // defaults are recorded in the resolved config
}

TEST_F(CliTest, OverridesAreJsonTyped) {
  auto r = run_blockspin(observe("--set batch=3 --set lattice.shape=[2,2,2,2] --set dtype=float32"));
  ASSERT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(std::ifstream(dir / "out" / "observables.json"));
  EXPECT_EQ(j["config"]["batch"], 3);
  EXPECT_EQ(j["configurations"][0]["observables"]["plaquette"]["values"].size(), 3u);
}

TEST_F(CliTest, BadInputNamesTheKeyAndWritesNothing) {
  write("broken.json", "{\"lattice\": {\"shape\": [4, 4]},\n  \"group\": SU3 }");
  struct Case {
    std::string args;
    std::string expected;
  };
  const std::vector<Case> cases{
      {observe("", "broken.json"), "line 2"},
      {observe("--set lattice.shap=[4,4]"), "lattice.shap"},
      {observe("--set batch='\"four\"'"), "'batch'"},
      {observe("--set group=SU1"), "'group'"},
      {observe("--set lattice.shape=[4,-2]"), "lattice.shape"},
      {observe("--set lattice.shape=[4]"), "lattice.shape"},
      {observe("--set actions[0].beta=-1"), "actions[0].beta"},
      {observe("--set actions[0].name=wilsn"), "actions[0].name"},
      {observe("--set device=gpu"), "'device'"},
      {observe("--set wilson_loops=[[1,0]]"), "wilson_loops[0]"},
      {observe("--set configurations[1].fluxes[0].plane=[0,7]"), "configurations[1].fluxes[0].plane"},
  };
  for (const auto& c : cases) {
    auto r = run_blockspin(c.args);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find("error"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir / "out")) << "a failed run created its output directory: " << c.args;
  }
}

TEST_F(CliTest, ExistingOutputIsNeverOverwrittenWithoutForce) {
  fs::create_directories(dir / "out");
  write("out/observables.json", "precious");
  auto r = run_blockspin(observe(""));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
  std::ifstream in(dir / "out" / "observables.json");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "precious");
  auto forced = run_blockspin(observe("--force"));
  EXPECT_EQ(forced.status, 0) << forced.output;
}
