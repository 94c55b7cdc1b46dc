// Random mutations of every shipped config and of small ensemble and checkpoint files, fed to the command line: no
// crash, either success or a one-line error with the documented exit status (README, "Exit codes"), nothing written.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "run_blockspin.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using blockspin::apps::testing::fresh_test_dir;
using blockspin::apps::testing::run_blockspin;
using blockspin::apps::testing::RunResult;
using nlohmann::json;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The subcommand a shipped config belongs to.
std::string command_of(const fs::path& config) {
  const std::string name = config.filename().string();
  if (config.parent_path().filename() == "acceptance" || name.rfind("generate_", 0) == 0) return "generate";
  if (name == "default.json") return "observe";
  if (name.rfind("flow_", 0) == 0) return "train-flow";
  if (name.rfind("fp_data_", 0) == 0) return "fp-data";
  if (name.rfind("wilson_loops_", 0) == 0 || name.rfind("train_", 0) == 0) return "train";
  return "";
}

// Pointers ("/a/b/0") to every value of a JSON tree.
void collect(const json& j, const std::string& at, std::vector<std::string>& out) {
  out.push_back(at);
  if (j.is_object())
    for (const auto& [k, v] : j.items()) collect(v, at + "/" + k, out);
  if (j.is_array())
    for (std::size_t i = 0; i < j.size(); ++i) collect(j[i], at + "/" + std::to_string(i), out);
}

// One random mutation of a config (as text): remove a key, put a value of a wrong kind, add an unknown key, cut the
// text, or change one character.
std::string mutate(const std::string& text, std::mt19937_64& rng) {
  const json original = json::parse(text, nullptr, true, /*ignore_comments=*/true);
  std::vector<std::string> pointers;
  collect(original, "", pointers);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  json j = original;
  const std::string where = pointers[pick(pointers.size())];
  const json::json_pointer ptr(where);
  static const std::vector<json> bad{"x",
                                     -1,
                                     0,
                                     1e308,
                                     -1e308,
                                     1.5,
                                     json::array(),
                                     json::object(),
                                     true,
                                     nullptr,
                                     1e30,
                                     "SU99999999999999999999",
                                     json::array({1, -2}),
                                     std::string(5000, 'z')};
  switch (pick(5)) {
    case 0:  // remove
      if (where.empty()) return "[]";
      j[ptr.parent_pointer()].is_object() ? (void)j[ptr.parent_pointer()].erase(ptr.back())
                                          : (void)j[ptr.parent_pointer()].erase(std::stoul(ptr.back()));
      return j.dump();
    case 1:  // a value of a wrong kind
      j[ptr] = bad[pick(bad.size())];
      return j.dump();
    case 2:  // an unknown key
      if (j[ptr].is_object())
        j[ptr]["no_such_key"] = 1;
      else
        j["no_such_key"] = 1;
      return j.dump();
    case 3:  // cut
      return text.substr(0, pick(text.size()));
    default: {  // one character
      std::string t = text;
      t[pick(t.size())] = static_cast<char>(' ' + pick(95));
      return t;
    }
  }
}

void expect_clean(const RunResult& r, const std::set<int>& allowed, const std::string& what) {
  EXPECT_TRUE(allowed.count(r.status)) << what << ": exit status " << r.status << "\n" << r.output.substr(0, 2000);
  if (r.status != 0) {
    const auto at = r.output.find(": error: ");
    ASSERT_NE(at, std::string::npos) << what << "\n" << r.output.substr(0, 2000);
    const auto end = r.output.find('\n', at);
    EXPECT_TRUE(end == std::string::npos || end + 1 == r.output.size()) << what << ": not one line\n" << r.output;
    EXPECT_LT(end - at, 1200u) << what << ": the error echoes too much";
  }
}

}  // namespace

TEST(Fuzz, MutatedShippedConfigsFailCleanlyAndWriteNothing) {
  const auto dir = fresh_test_dir("blockspin_fuzz_cfg_");
  int runs = 0, refused = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(BLOCKSPIN_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".json") continue;
    const std::string command = command_of(entry.path());
    ASSERT_FALSE(command.empty()) << "which subcommand reads " << entry.path() << "?";
    const std::string text = slurp(entry.path());
    std::mt19937_64 rng(std::hash<std::string>{}(entry.path().filename().string()));
    // A config built on a "base" (relative to its own directory) finds a copy of it beside the mutated file.
    const json parsed = json::parse(text, nullptr, true, /*ignore_comments=*/true);
    if (parsed.contains("base")) {
      fs::copy_file(entry.path().parent_path() / parsed["base"].get<std::string>(),
                    dir / parsed["base"].get<std::string>(), fs::copy_options::overwrite_existing);
    }
    for (int k = 0; k < 4; ++k) {
      const auto config = dir / "mutated.json";
      std::ofstream(config) << mutate(text, rng);
      const auto out = dir / "out";
      const auto r =
          run_blockspin(command + " --config " + config.string() + " --out " + out.string() + " --check-config");
      // train_fp_action_* and fp-data configs with inputs: their data files and architecture are paths from the
      // repository root or runs/, absent here, so an input error (4) naming them is a clean outcome too.
      const bool reads_files = entry.path().filename().string().rfind("train_fp_action", 0) == 0 ||
                               (command == "fp-data" && text.find("\"inputs\"") != std::string::npos);
      expect_clean(
          r, reads_files ? std::set<int>{0, 2, 4} : std::set<int>{0, 2},
          entry.path().filename().string() + " mutation " + std::to_string(k) + ": " + slurp(config).substr(0, 300));
      EXPECT_FALSE(fs::exists(out)) << entry.path().filename() << " mutation " << k;
      ++runs;
      refused += r.status == 2 ? 1 : 0;
    }
  }
  EXPECT_GE(runs, 60);
  EXPECT_GE(refused, runs / 2) << "most mutations must be caught, or the test tests little";
  fs::remove_all(dir);
}

TEST(Fuzz, DamagedEnsembleAndCheckpointFilesFailCleanly) {
  const auto dir = fresh_test_dir("blockspin_fuzz_files_");
  std::ofstream(dir / "hb.json") << R"({
    "lattice": {"shape": [4, 4, 2, 2]}, "group": "SU2", "action": {"name": "wilson", "beta": 2.3},
    "algorithm": {"name": "heatbath", "or_steps": 1},
    "n_chains": 2, "n_therm": 2, "n_configs": 4, "save_every": 2, "seed": 5})";
  const std::string gen = "generate --config " + (dir / "hb.json").string() + " --out ";
  ASSERT_EQ(run_blockspin(gen + (dir / "done").string()).status, 0);
  ASSERT_NE(run_blockspin(gen + (dir / "crashed").string(), "BLOCKSPIN_TEST_CRASH_AFTER=4").status, 0);
  const std::string ensemble = slurp(dir / "done" / "ensemble.h5");
  const std::string checkpoint = slurp(dir / "crashed" / "checkpoint.h5");
  std::mt19937_64 rng(17);
  int refused_ensembles = 0, refused_checkpoints = 0;
  auto damage = [&](std::string bytes) {
    if (rng() % 4 == 0) return bytes.substr(0, rng() % bytes.size());  // truncated
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < flips; ++i) bytes[rng() % bytes.size()] ^= static_cast<char>(1 << (rng() % 8));
    return bytes;
  };
  for (int k = 0; k < 12; ++k) {
    // An ensemble for `measure`: success (a flip in unused bytes) or an input error.
    std::ofstream(dir / "e.h5", std::ios::binary) << damage(ensemble);
    const auto m = dir / ("m" + std::to_string(k));
    auto r = run_blockspin("measure --ensemble " + (dir / "e.h5").string() + " --out " + m.string() +
                           " --set flow.enabled=false");
    expect_clean(r, {0, 4}, "measure, damaged ensemble " + std::to_string(k));
    if (r.status != 0) {
      EXPECT_FALSE(fs::exists(m)) << k;
    }
    refused_ensembles += r.status == 4 ? 1 : 0;
    // A checkpoint for `generate --resume`: success, an input error, or (a damaged stored config that still parses)
    // a config error; the damaged checkpoint itself is left as it was.
    const auto run = dir / ("r" + std::to_string(k));
    fs::copy(dir / "crashed", run, fs::copy_options::recursive);
    const std::string damaged = damage(checkpoint);
    std::ofstream(run / "checkpoint.h5", std::ios::binary) << damaged;
    r = run_blockspin(gen + run.string() + " --resume");
    expect_clean(r, {0, 2, 4}, "generate --resume, damaged checkpoint " + std::to_string(k));
    if (r.status != 0) {
      EXPECT_EQ(slurp(run / "checkpoint.h5"), damaged) << k;
    }
    refused_checkpoints += r.status != 0 ? 1 : 0;
  }
  // Most random damage lands in data (CRC32) or metadata (HDF5): it must be seen.
  EXPECT_GE(refused_ensembles, 8);
  EXPECT_GE(refused_checkpoints, 8);
  fs::remove_all(dir);
}

TEST(Fuzz, DamagedFpDataResumeStateFailsCleanly) {
  const auto dir = fresh_test_dir("blockspin_fuzz_fp_");
  std::ofstream(dir / "fp.json") << R"({
    "lattice": {"shape": [2, 2, 2, 2]}, "group": "SU2",
    "generate": {"betas": [2.5, 4.0], "n_configs": 1, "n_therm": 5, "save_every": 1,
                 "algorithm": {"name": "heatbath", "or_steps": 1}},
    "minimiser": {"grad_tol": 1e-6, "max_iterations": 500}, "batch_size": 1, "seed": 3})";
  const std::string cmd = "fp-data --config " + (dir / "fp.json").string() + " --out ";
  ASSERT_NE(run_blockspin(cmd + (dir / "crashed").string(), "BLOCKSPIN_TEST_CRASH_AFTER=1").status, 0);
  std::mt19937_64 rng(29);
  for (int k = 0; k < 6; ++k) {
    const auto run = dir / ("r" + std::to_string(k));
    fs::copy(dir / "crashed", run, fs::copy_options::recursive);
    const fs::path victim = k % 2 == 0 ? run / "coarse.h5" : run / "chunks" / "batch_000000.h5";
    std::string bytes = slurp(victim);
    for (int i = 0; i < 4; ++i) bytes[rng() % bytes.size()] ^= static_cast<char>(1 << (rng() % 8));
    std::ofstream(victim, std::ios::binary) << bytes;
    const auto r = run_blockspin(cmd + run.string() + " --resume");
    expect_clean(r, {0, 2, 4, 5}, "fp-data --resume, damaged " + victim.filename().string());
    if (r.status != 0) {
      EXPECT_FALSE(fs::exists(run / "fp_data.h5")) << k;
    }
  }
  fs::remove_all(dir);
}
