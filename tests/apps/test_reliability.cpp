// Bad input, damaged files, full disks and wrong directories, end to end: every case ends in a one-line error with
// the documented exit status (README, "Exit codes"), names the key or file, and loses nothing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/ensemble_file.h"
#include "io/h5io.h"
#include "run_blockspin.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace fs = std::filesystem;
using blockspin::apps::testing::fresh_test_dir;
using blockspin::apps::testing::run_blockspin;
using blockspin::apps::testing::RunResult;

namespace {

constexpr int kConfigError = 2, kOutputError = 3, kInputError = 4;

class Reliability : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fresh_test_dir("blockspin_rel_");
    std::ofstream(dir / "hb.json") << R"({
      "lattice": {"shape": [4, 4, 2, 2]}, "group": "SU2", "action": {"name": "wilson", "beta": 2.3},
      "algorithm": {"name": "heatbath", "or_steps": 1},
      "n_chains": 2, "n_therm": 2, "n_configs": 4, "save_every": 2, "seed": 5})";
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string gen(const std::string& out, const std::string& extra = "") {
    return "generate --config " + (dir / "hb.json").string() + " --out " + (dir / out).string() + " " + extra;
  }
  // Exactly one line of output, starting "blockspin SUB: error: ", naming `what`.
  static void expect_one_line_error(const RunResult& r, const std::string& what) {
    const auto at = r.output.find(": error: ");
    ASSERT_NE(at, std::string::npos) << r.output;
    const auto line_end = r.output.find('\n', at);
    const std::string line = r.output.substr(at, line_end - at);
    EXPECT_NE(line.find(what), std::string::npos) << "expected '" << what << "' in: " << line;
    EXPECT_TRUE(line_end == std::string::npos || line_end + 1 == r.output.size()) << "not the last line:\n" << r.output;
  }
  static void flip_byte(const fs::path& file, std::streamoff offset_from_end) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-offset_from_end, std::ios::end);
    const char c = static_cast<char>(f.get());
    f.seekp(-offset_from_end, std::ios::end);
    f.put(static_cast<char>(c ^ 0x10));
  }
  static int count_temp_files(const fs::path& d) {
    int n = 0;
    for (const auto& e : fs::recursive_directory_iterator(d))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) ++n;
    return n;
  }
  fs::path dir;
};

}  // namespace

// Class 3: a flipped bit in a saved chunk's links fails its CRC32 on resume: exit 4, the file is named.
TEST_F(Reliability, DamagedChunkIsDetectedOnResume) {
  ASSERT_NE(run_blockspin(gen("run"), "BLOCKSPIN_TEST_CRASH_AFTER=4").status, 0);
  const auto chunk = dir / "run" / "chunks" / "event_000000.h5";
  ASSERT_TRUE(fs::exists(chunk));
  // The links dataset is the first written; flip a byte inside its data (after the HDF5 superblock and headers).
  {
    H5::H5File f = blockspin::io::open_h5(chunk, "ensemble_chunk");
    const auto offset = H5Dget_offset(f.openDataSet("links").getId());
    f.close();
    std::fstream s(chunk, std::ios::in | std::ios::out | std::ios::binary);
    s.seekg(static_cast<std::streamoff>(offset) + 100);
    const char c = static_cast<char>(s.get());
    s.seekp(static_cast<std::streamoff>(offset) + 100);
    s.put(static_cast<char>(c ^ 0x01));  // the lowest mantissa bit: invisible to an SU(N) check, not to the CRC
  }
  auto r = run_blockspin(gen("run", "--resume"));
  EXPECT_EQ(r.status, kInputError) << r.output;
  expect_one_line_error(r, "event_000000.h5");
  EXPECT_FALSE(fs::exists(dir / "run" / "ensemble.h5"));
}

// Class 3: an absurd step counter in a checkpoint is refused, not taken as "finished".
TEST_F(Reliability, CheckpointCountersAreValidated) {
  ASSERT_NE(run_blockspin(gen("run"), "BLOCKSPIN_TEST_CRASH_AFTER=4").status, 0);
  {
    H5::H5File f(dir / "run" / "checkpoint.h5", H5F_ACC_RDWR);
    blockspin::io::write_attribute(f, "update", int64_t{1000000});
  }
  auto r = run_blockspin(gen("run", "--resume"));
  EXPECT_EQ(r.status, kInputError) << r.output;
  expect_one_line_error(r, "checkpoint.h5");
}

// Class 1: an HDF5 object of the wrong kind (a dataset where a group is expected) is an input error naming the file.
TEST_F(Reliability, MalformedEnsembleStructureIsAnInputError) {
  const auto file = dir / "bad.h5";
  blockspin::io::write_h5_atomic(file, "ensemble", "test", [](H5::H5File& f) {
    blockspin::io::write_tensor(f, "links", torch::eye(2, torch::kComplexDouble).expand({1, 2, 2, 2, 2, 2}).clone());
    blockspin::io::write_tensor(f, "history", torch::zeros({3}));
  });
  auto r = run_blockspin("measure --ensemble " + file.string() + " --out " + (dir / "m").string());
  EXPECT_EQ(r.status, kInputError) << r.output;
  expect_one_line_error(r, "bad.h5");
  EXPECT_FALSE(fs::exists(dir / "m"));
}

// Class 2: a full disk (here a file-size limit) ends in an output error, leaves no temp files and keeps the last
// checkpoint; the run then resumes.
TEST_F(Reliability, FullDiskIsAnOutputErrorAndResumes) {
  // 64 KiB per file (sh counts 512-byte blocks): checkpoint (~46 KB) and chunks (~42 KB) fit, the ensemble (~76 KB)
  // does not.
  auto r = run_blockspin(gen("run"), "ulimit -f 128;");
  ASSERT_NE(r.status, -1) << "killed by a signal:\n" << r.output;
  EXPECT_EQ(r.status, kOutputError) << r.output;
  expect_one_line_error(r, "ensemble.h5");
  EXPECT_EQ(count_temp_files(dir / "run"), 0);
  EXPECT_TRUE(fs::exists(dir / "run" / "checkpoint.h5"));
  EXPECT_FALSE(fs::exists(dir / "run" / "ensemble.h5"));
  auto resumed = run_blockspin(gen("run", "--resume"));
  EXPECT_EQ(resumed.status, 0) << resumed.output;
}

// Class 2: --force over a finished run keeps the old results until the new run has produced its own.
TEST_F(Reliability, ForceKeepsOldResultsUntilReplaced) {
  ASSERT_EQ(run_blockspin(gen("run")).status, 0);
  const auto before = fs::file_size(dir / "run" / "ensemble.h5");
  ASSERT_NE(run_blockspin(gen("run", "--force --set seed=9"), "BLOCKSPIN_TEST_CRASH_AFTER=3").status, 0);
  ASSERT_TRUE(fs::exists(dir / "run" / "ensemble.h5"));
  EXPECT_EQ(fs::file_size(dir / "run" / "ensemble.h5"), before);
}

// Class 4: at an absurd β every HMC trajectory overflows. With the fused kernels ΔH = +inf: every proposal is
// rejected (probability e^{-inf} = 0) and the run, the ensemble and the summary are written all the same. With the
// torch kernels the overflow gives ΔH = NaN: an energy that is not a number stops the run (exit 5, one line), keeping
// the last checkpoint, instead of a silent rejection.
TEST_F(Reliability, OverflowingHmcIsRejectedOrStops) {
  const std::string absurd = "--set action.beta=1e300 --set 'algorithm={\"name\":\"hmc\",\"accept_all_therm\":0}'";
  auto r = run_blockspin(gen("fused", "--set kernels=fused " + absurd));
  ASSERT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(std::ifstream(dir / "fused" / "summary.json"));
  EXPECT_EQ(j["plaquette"]["mean"].get<double>(), 1.0);  // the cold start never moved
  EXPECT_EQ(j["acceptance"].get<double>(), 0.0);
  r = run_blockspin(gen("torch", "--set kernels=torch " + absurd));
  EXPECT_EQ(r.status, 5) << r.output;
  expect_one_line_error(r, "non-finite ΔH");
  EXPECT_FALSE(fs::exists(dir / "torch" / "ensemble.h5"));
}

// Class 5: --resume into another subcommand's run directory is refused and touches nothing.
TEST_F(Reliability, ResumeIntoAnotherSubcommandsDirectoryIsRefused) {
  ASSERT_EQ(run_blockspin(gen("run")).status, 0);
  const auto before = fs::file_size(dir / "run" / "ensemble.h5");
  std::ofstream(dir / "fp.json") << R"({"lattice": {"shape": [2, 2, 2, 2]}, "group": "SU2",
      "instantons": {"enabled": true, "rho": [1.0]}})";
  auto r = run_blockspin("fp-data --config " + (dir / "fp.json").string() + " --out " + (dir / "run").string() +
                         " --resume");
  EXPECT_EQ(r.status, kOutputError) << r.output;
  expect_one_line_error(r, "blockspin generate");
  EXPECT_EQ(fs::file_size(dir / "run" / "ensemble.h5"), before);
  EXPECT_FALSE(fs::exists(dir / "run" / "fp_data.h5"));
}

// Class 6 and 7: values that used to reach library messages or run for minutes are config errors naming the key.
TEST_F(Reliability, AbsurdValuesAreConfigErrors) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"--set group=SU99999999999999999999", "group"},
      {"--set lattice.shape=[100000,100000,100000,100000]", "lattice.shape"},
  };
  for (const auto& [extra, key] : cases) {
    auto r = run_blockspin(gen("bad", extra));
    EXPECT_EQ(r.status, kConfigError) << extra << "\n" << r.output;
    expect_one_line_error(r, key);
    EXPECT_FALSE(fs::exists(dir / "bad")) << extra;
  }
  std::ofstream(dir / "fp.json") << R"({"lattice": {"shape": [2, 2, 2, 2]}, "group": "SU2",
      "instantons": {"enabled": true, "rho": [1.0]}})";
  for (const auto& [extra, key] : std::vector<std::pair<std::string, std::string>>{
           {"--set blocking.smearing.s_pl=-0.1", "blocking.smearing.s_pl"},
           {"--set blocking.kappa=1e300", "blocking.kappa"},
           {"--set blocking.smearing.s_pl=0.2", "blocking.smearing"},  // leaves s0 < 0
           {"--set dtype=float32 --set minimiser.grad_tol=1e-9", "minimiser.grad_tol"}}) {
    auto r = run_blockspin("fp-data --config " + (dir / "fp.json").string() + " --out " + (dir / "bad").string() + " " +
                           extra);
    EXPECT_EQ(r.status, kConfigError) << extra << "\n" << r.output;
    expect_one_line_error(r, key);
    EXPECT_FALSE(fs::exists(dir / "bad")) << extra;
  }
}

// Class 9: command-line errors are config errors (2), with any option order.
TEST_F(Reliability, CommandLineErrorsAndLogLevelAfterTheSubcommand) {
  for (const char* args : {"generate --no-such-flag", "no-such-subcommand"}) {
    const auto r = run_blockspin(args);
    EXPECT_EQ(r.status, kConfigError) << args;
    expect_one_line_error(r, "see blockspin --help");
  }
  auto r = run_blockspin(gen("run", "--log-level debug"));
  EXPECT_EQ(r.status, 0) << r.output;
}

// Class 8: temp files that a killed process left are removed when the run continues.
TEST_F(Reliability, StaleTempFilesAreRemovedOnResume) {
  ASSERT_NE(run_blockspin(gen("run"), "BLOCKSPIN_TEST_CRASH_AFTER=3").status, 0);
  std::ofstream(dir / "run" / "checkpoint.h5.tmp.2147483600.0") << "torn";
  ASSERT_EQ(run_blockspin(gen("run", "--resume")).status, 0);
  EXPECT_EQ(count_temp_files(dir / "run"), 0);
}

// Class 10: checkpoints record the numerics environment (a resume on another BLAS warns instead of silently
// diverging).
TEST_F(Reliability, CheckpointsRecordTheNumericsEnvironment) {
  ASSERT_NE(run_blockspin(gen("run"), "BLOCKSPIN_TEST_CRASH_AFTER=3").status, 0);
  H5::H5File f(dir / "run" / "checkpoint.h5", H5F_ACC_RDONLY);
  const auto numerics = nlohmann::json::parse(blockspin::io::read_string_attribute(f, "numerics"));
  for (const char* key : {"libtorch", "blas", "threads", "isa", "kernels_isa"})
    EXPECT_TRUE(numerics.contains(key)) << key;
  f.close();
  {
    H5::H5File w(dir / "run" / "checkpoint.h5", H5F_ACC_RDWR);
    auto changed = numerics;
    changed["blas"] = "some other BLAS";
    blockspin::io::write_attribute(w, "numerics", changed.dump());
  }
  auto r = run_blockspin(gen("run", "--resume"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("not bitwise identical"), std::string::npos) << r.output;
}
