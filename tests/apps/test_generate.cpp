// End-to-end tests of `blockspin generate` / `measure` / `convert`: outputs, bitwise resume, bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/ensemble_file.h"
#include "run_blockspin.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using blockspin::io::Ensemble;
using blockspin::io::read_ensemble;

namespace {

using blockspin::apps::testing::fresh_test_dir;
using blockspin::apps::testing::run_blockspin;

class GenerateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fresh_test_dir("blockspin_gen_");
    std::ofstream(dir / "hb.json") << R"({
      "lattice": {"shape": [4, 4, 2, 2]}, "group": "SU2", "action": {"name": "wilson", "beta": 2.3},
      "algorithm": {"name": "heatbath", "or_steps": 1},
      "n_chains": 2, "n_therm": 4, "n_configs": 6, "save_every": 2, "seed": 5})";
    std::ofstream(dir / "hmc.json") << R"({
      "lattice": {"shape": [4, 3, 2, 2]}, "group": "SU3", "action": {"name": "symanzik", "beta": 4.0},
      "algorithm": {"name": "hmc", "steps": 5, "trajectory_length": 0.5, "integrator": "omelyan"},
      "n_chains": 2, "n_therm": 3, "n_configs": 4, "save_every": 2, "seed": 6})";
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string gen(const std::string& config, const std::string& out, const std::string& extra = "") {
    return "generate --config " + (dir / config).string() + " --out " + (dir / out).string() + " " + extra;
  }
  fs::path dir;
};

void expect_identical(const Ensemble& a, const Ensemble& b) {
  EXPECT_TRUE(torch::equal(a.links, b.links));
  EXPECT_TRUE(torch::equal(a.plaquette, b.plaquette));
  EXPECT_TRUE(torch::equal(a.trajectory, b.trajectory));
  EXPECT_TRUE(torch::equal(a.history_plaquette, b.history_plaquette));
  EXPECT_TRUE(torch::equal(a.history_delta_H, b.history_delta_H));
}

}  // namespace

TEST_F(GenerateTest, WritesEnsembleAndSummary) {
  for (const char* config : {"hb.json", "hmc.json"}) {
    const std::string out = std::string("out_") + config;
    auto r = run_blockspin(gen(config, out));
    ASSERT_EQ(r.status, 0) << r.output;
    auto e = read_ensemble(dir / out / "ensemble.h5");
    const bool su3 = std::string(config) == "hmc.json";
    EXPECT_EQ(e.links.sizes(), (std::vector<int64_t>{su3 ? 4 : 6, 4, 4, su3 ? 3 : 4, 2, 2, su3 ? 3 : 2, su3 ? 3 : 2}));
    EXPECT_EQ(e.history_plaquette.size(0), su3 ? 3 + 4 : 4 + 6);  // n_therm + save_every * n_configs / n_chains
    EXPECT_EQ(e.config["seed"], su3 ? 6 : 5);
    auto s = nlohmann::json::parse(std::ifstream(dir / out / "summary.json"));
    for (const char* key : {"mean", "error", "tau_int", "tau_int_error"}) EXPECT_TRUE(s["plaquette"].contains(key));
    EXPECT_EQ(s["n_configs"], e.links.size(0));
    EXPECT_GT(s["acceptance"].get<double>(), 0.3);
    EXPECT_FALSE(fs::exists(dir / out / "checkpoint.h5"));
    EXPECT_FALSE(fs::exists(dir / out / "chunks"));
  }
}

TEST_F(GenerateTest, ResumeAfterCrashIsBitwiseIdentical) {
  for (const char* config : {"hb.json", "hmc.json"}) {
    const std::string full = std::string("full_") + config, part = std::string("part_") + config;
    ASSERT_EQ(run_blockspin(gen(config, full)).status, 0);
    for (int crash_after : {3, 7}) {  // during thermalisation, and between save events
      fs::remove_all(dir / part);
      auto crashed = run_blockspin(gen(config, part), "BLOCKSPIN_TEST_CRASH_AFTER=" + std::to_string(crash_after));
      ASSERT_NE(crashed.status, 0);
      EXPECT_TRUE(fs::exists(dir / part / "checkpoint.h5"));
      EXPECT_FALSE(fs::exists(dir / part / "ensemble.h5"));
      auto refused = run_blockspin(gen(config, part));  // neither --resume nor --force: refuse, keep the files
      EXPECT_NE(refused.status, 0);
      EXPECT_NE(refused.output.find("--resume"), std::string::npos);
      auto resumed = run_blockspin(gen(config, part, "--resume"));
      ASSERT_EQ(resumed.status, 0) << resumed.output;
      expect_identical(read_ensemble(dir / full / "ensemble.h5"), read_ensemble(dir / part / "ensemble.h5"));
    }
    auto again = run_blockspin(gen(config, part, "--resume"));
    EXPECT_NE(again.status, 0);
    EXPECT_NE(again.output.find("already complete"), std::string::npos);
  }
}

TEST_F(GenerateTest, CorruptCheckpointIsReportedNotOverwritten) {
  ASSERT_NE(run_blockspin(gen("hb.json", "c"), "BLOCKSPIN_TEST_CRASH_AFTER=5").status, 0);
  const auto ck = dir / "c" / "checkpoint.h5";
  fs::resize_file(ck, fs::file_size(ck) / 2);
  const auto size = fs::file_size(ck);
  auto r = run_blockspin(gen("hb.json", "c", "--resume"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("checkpoint.h5"), std::string::npos) << r.output;
  EXPECT_EQ(fs::file_size(ck), size);
  // A different config cannot resume someone else's run.
  auto other = run_blockspin(gen("hb.json", "c", "--resume --set seed=99"));
  EXPECT_NE(other.status, 0);
}

TEST_F(GenerateTest, BadInputIsRejectedBeforeWriting) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"--set algorithm.name=metropolis", "algorithm.name"},
      {"--set action.name=wilsn", "action.name"},
      {"--set action.beta=0", "action.beta"},
      {"--set action.beta=-2", "action.beta"},
      {"--set lattice.shape=[4,3,2,2]", "lattice.shape"},  // odd extent: no parallel heatbath
      {"--set group=SU1", "group"},
      {"--set n_configs=5", "n_configs"},              // not a multiple of n_chains
      {"--set algorithm.steps=3", "algorithm.steps"},  // an HMC key in a heatbath run
      {"--set kernels=fast", "kernels"},               // fused | torch
  };
  for (const auto& [extra, key] : cases) {
    auto r = run_blockspin(gen("hb.json", "bad", extra));
    EXPECT_NE(r.status, 0) << extra;
    EXPECT_NE(r.output.find(key), std::string::npos) << extra << "\n" << r.output;
    EXPECT_FALSE(fs::exists(dir / "bad")) << extra;
  }
}

TEST_F(GenerateTest, MeasureAndConvertRoundTrip) {
  ASSERT_EQ(run_blockspin(gen("hmc.json", "e")).status, 0);
  // SU(3) 4D ensemble -> NERSC files -> HDF5 ensemble: identical links (64-bit).
  auto to_nersc =
      run_blockspin("convert --in " + (dir / "e" / "ensemble.h5").string() + " --out " + (dir / "nersc").string());
  ASSERT_EQ(to_nersc.status, 0) << to_nersc.output;
  auto back = run_blockspin("convert --in " + (dir / "nersc").string() + " --out " + (dir / "back").string());
  ASSERT_EQ(back.status, 0) << back.output;
  auto a = read_ensemble(dir / "e" / "ensemble.h5"), b = read_ensemble(dir / "back" / "ensemble.h5");
  auto order = torch::argsort(a.chain * 1000000 + a.trajectory);  // NERSC files are read in name order
  EXPECT_LT((a.links.index_select(0, order) - b.links).abs().max().item<double>(), 1e-15);
  // Chains and trajectories survive the round trip (otherwise `measure` treats two chains as one series).
  EXPECT_TRUE(torch::equal(a.chain.index_select(0, order), b.chain));
  EXPECT_TRUE(torch::equal(a.trajectory.index_select(0, order), b.trajectory));
  // A directory with a foreign file is refused, naming the file (exit 4: input-file error).
  fs::create_directories(dir / "mixed");
  for (const auto& entry : fs::directory_iterator(dir / "nersc")) fs::copy(entry.path(), dir / "mixed");
  std::ofstream(dir / "mixed" / "info.xml") << "<xml/>";
  auto mixed = run_blockspin("convert --in " + (dir / "mixed").string() + " --out " + (dir / "never2").string());
  EXPECT_EQ(mixed.status, 4) << mixed.output;
  EXPECT_NE(mixed.output.find("info.xml"), std::string::npos) << mixed.output;
  EXPECT_FALSE(fs::exists(dir / "never2"));
  // A corrupted NERSC file is refused with a one-line error; nothing is written.
  auto first = fs::directory_iterator(dir / "nersc")->path();
  {
    std::fstream f(first, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x7f');
  }
  auto corrupt = run_blockspin("convert --in " + first.string() + " --out " + (dir / "never").string());
  EXPECT_EQ(corrupt.status, 4);
  EXPECT_NE(corrupt.output.find("CHECKSUM"), std::string::npos) << corrupt.output;
  EXPECT_FALSE(fs::exists(dir / "never"));
  // measure: plaquette equals the stored per-configuration plaquettes' mean; flow gives t2E curve.
  auto m = run_blockspin("measure --ensemble " + (dir / "e" / "ensemble.h5").string() + " --out " +
                         (dir / "m").string() + " --set flow.t_max=0.2");
  ASSERT_EQ(m.status, 0) << m.output;
  auto j = nlohmann::json::parse(std::ifstream(dir / "m" / "measurements.json"));
  EXPECT_NEAR(j["observables"]["plaquette"]["mean"].get<double>(), a.plaquette.mean().item<double>(), 1e-12);
  EXPECT_EQ(j["flow"]["t2E"].size(), 5u);
  EXPECT_TRUE(j["observables"].contains("topological_charge_flowed"));
  EXPECT_TRUE(j["observables"]["w0"].contains("error")) << j["observables"].dump();  // not reached by t = 0.2
  // flow.scales: t_c where the mean curve reaches c (here half its value at t = 0.2, written with 3 digits so that
  // the key is exact): the linear interpolation of the curve at t_c gives back c (one chain: no bias correction of
  // the derived quantity); a c beyond t_max is reported as not reached, and √(t_c/t0) needs t0; a scale <= 0 is a
  // config error naming the key.
  ASSERT_EQ(run_blockspin(gen("hb.json", "e1", "--set n_chains=1 --set n_configs=8 --set save_every=1")).status, 0);
  const std::string e1 = (dir / "e1" / "ensemble.h5").string();
  ASSERT_EQ(
      run_blockspin("measure --ensemble " + e1 + " --out " + (dir / "m1").string() + " --set flow.t_max=0.2").status,
      0);
  auto j1 = nlohmann::json::parse(std::ifstream(dir / "m1" / "measurements.json"));
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", 0.5 * j1["flow"]["t2E"][4]["t2E"].get<double>());
  const double c = std::stod(text);
  const std::string key = "t_" + std::string(text);
  auto ms = run_blockspin("measure --ensemble " + e1 + " --out " + (dir / "ms").string() +
                          " --set flow.t_max=0.2 --set flow.scales=[" + text + ",0.3]");
  ASSERT_EQ(ms.status, 0) << ms.output;
  auto js = nlohmann::json::parse(std::ifstream(dir / "ms" / "measurements.json"));
  ASSERT_TRUE(js["observables"][key].contains("mean")) << js["observables"].dump();
  const double tc = js["observables"][key]["mean"].get<double>();
  const auto& curve = js["flow"]["t2E"];
  bool bracketed = false;
  for (size_t i = 1; i < curve.size(); ++i) {
    const double t0 = curve[i - 1]["t"], t1 = curve[i]["t"], y0 = curve[i - 1]["t2E"], y1 = curve[i]["t2E"];
    if (tc < t0 || tc > t1) continue;
    EXPECT_NEAR(y0 + (y1 - y0) * (tc - t0) / (t1 - t0), c, 1e-12);
    bracketed = true;
    break;
  }
  EXPECT_TRUE(bracketed) << tc;
  EXPECT_GT(js["observables"][key]["error"].get<double>(), 0.0);
  EXPECT_TRUE(js["observables"]["t_0.3"].contains("error")) << js["observables"].dump();
  EXPECT_FALSE(js["observables"].contains("sqrt_" + key + "_over_t0"));
  auto bad = run_blockspin("measure --ensemble " + (dir / "e" / "ensemble.h5").string() + " --out " +
                           (dir / "mbad").string() + " --set flow.scales=[0.2,-0.1]");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("flow.scales"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir / "mbad"));
}

// HDF5 -> ILDG -> openQCD -> NERSC -> HDF5 (the format of each input read from its content): identical links, chains
// and trajectories, and identical `measure` results; a bad --format is a config error, an ILDG file with a flipped bit
// an input error naming the checksum; nothing written.
TEST_F(GenerateTest, ConvertThroughIldgAndOpenQcdKeepsEverything) {
  // openQCD lattices have even extents (x, y, z, t) = (4, 2, 2, 4); non-hypercubic pins the orders
  ASSERT_EQ(run_blockspin(gen("hmc.json", "e", "--set lattice.shape=[4,2,2,4]")).status, 0);
  std::string from = (dir / "e" / "ensemble.h5").string();
  for (const char* format : {"ildg", "openqcd", "nersc", "hdf5"}) {
    const auto out = dir / (std::string("to_") + format);
    const auto r = run_blockspin("convert --in " + from + " --out " + out.string() + " --format " + format);
    ASSERT_EQ(r.status, 0) << format << "\n" << r.output;
    from = std::string(format) == "hdf5" ? (out / "ensemble.h5").string() : out.string();
  }
  auto a = read_ensemble(dir / "e" / "ensemble.h5"), b = read_ensemble(dir / "to_hdf5" / "ensemble.h5");
  auto order = torch::argsort(a.chain * 1000000 + a.trajectory);  // per-configuration files are read in name order
  EXPECT_TRUE(torch::equal(a.links.index_select(0, order), b.links));
  EXPECT_TRUE(torch::equal(a.chain.index_select(0, order), b.chain));
  EXPECT_TRUE(torch::equal(a.trajectory.index_select(0, order), b.trajectory));
  auto measure = [&](const fs::path& ensemble, const std::string& out) {
    const auto m = run_blockspin("measure --ensemble " + ensemble.string() + " --out " + (dir / out).string() +
                                 " --set flow.t_max=0.1");
    EXPECT_EQ(m.status, 0) << m.output;
    auto j = nlohmann::json::parse(std::ifstream(dir / out / "measurements.json"));
    return j["observables"];
  };
  EXPECT_EQ(measure(dir / "e" / "ensemble.h5", "m1"), measure(dir / "to_hdf5" / "ensemble.h5", "m2"));
  // generate can start from gauge files (the last n_chains configurations): chain c continues from them, not cold
  auto started =
      run_blockspin(gen("hmc.json", "cont",
                        "--set lattice.shape=[4,2,2,4] --set n_therm=0 --set start=" + (dir / "to_openqcd").string()));
  ASSERT_EQ(started.status, 0) << started.output;
  const auto c = read_ensemble(dir / "cont" / "ensemble.h5");
  EXPECT_LT(c.history_plaquette[0].max().item<double>(), 0.99) << "started cold";
  auto wrong = run_blockspin(gen("hmc.json", "never", "--set start=" + (dir / "to_openqcd").string()));
  EXPECT_EQ(wrong.status, 4) << wrong.output;  // the fixture's lattice is 4x3x2x2
  EXPECT_NE(wrong.output.find("this run needs"), std::string::npos) << wrong.output;

  auto bad = run_blockspin("convert --in " + (dir / "e" / "ensemble.h5").string() + " --out " +
                           (dir / "never").string() + " --format lime");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("--format"), std::string::npos) << bad.output;
  const auto file = fs::directory_iterator(dir / "to_ildg")->path();
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2000);
    f.put('\x55');
  }
  bad = run_blockspin("convert --in " + (dir / "to_ildg").string() + " --out " + (dir / "never").string());
  EXPECT_EQ(bad.status, 4) << bad.output;
  EXPECT_NE(bad.output.find("checksum"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir / "never"));
}
