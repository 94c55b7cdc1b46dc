// Tests of the run directory: prepare / refuse / force, the run kind, resume rules, fresh starts.
#include "run/run_directory.h"
#include "support/atomic_file.h"

#include <fmt/format.h>
#include "support/output_dir_fixture.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace blockspin::run {
using namespace blockspin::support;
namespace {

namespace fs = std::filesystem;

using namespace blockspin::testing;

TEST_F(OutputDir, PrepareCreatesNewDirectoryWithParents) {
  const fs::path dir = root_ / "a" / "b" / "run";
  prepare_output_dir(dir, false, false);
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_TRUE(entries(dir).empty());
}

TEST_F(OutputDir, PrepareAcceptsExistingEmptyDirectory) {
  const fs::path dir = root_ / "empty";
  fs::create_directory(dir);
  EXPECT_NO_THROW(prepare_output_dir(dir, false, false));
  EXPECT_TRUE(entries(dir).empty());
}

TEST_F(OutputDir, PrepareRefusesNonEmptyDirectoryUnlessForcedOrResumed) {
  const fs::path dir = root_ / "run";
  fs::create_directory(dir);
  write_file_atomic(dir / "results.json", "{\"old\": true}");
  EXPECT_EQ(output_error([&] { prepare_output_dir(dir, false, false); }),
            "output directory '" + dir.string() +
                "' already exists and is not empty (use --force to overwrite or --resume to continue)");
  EXPECT_EQ(read_file(dir / "results.json"), "{\"old\": true}");  // untouched
  EXPECT_EQ(entries(dir), std::vector<std::string>{"results.json"});

  EXPECT_NO_THROW(prepare_output_dir(dir, true, false));
  EXPECT_NO_THROW(prepare_output_dir(dir, false, true));
  EXPECT_EQ(read_file(dir / "results.json"), "{\"old\": true}");  // preparing never deletes anything
}

TEST_F(OutputDir, PrepareRejectsRegularFileAndCreatesNothing) {
  const fs::path file = root_ / "taken";
  write_file_atomic(file, "keep me");
  EXPECT_EQ(output_error([&] { prepare_output_dir(file, false, false); }),
            "output path '" + file.string() + "' exists and is not a directory");
  EXPECT_CONTAINS(output_error([&] { prepare_output_dir(file, true, true); }), "not a directory");
  // A directory below a regular file cannot be created; nothing is left behind.
  EXPECT_CONTAINS(output_error([&] { prepare_output_dir(file / "sub" / "run", false, false); }), file.string());
  EXPECT_EQ(read_file(file), "keep me");
  EXPECT_EQ(entries(root_), std::vector<std::string>{"taken"});
  EXPECT_CONTAINS(output_error([&] { prepare_output_dir("", false, false); }), "must not be empty");
}

TEST_F(OutputDir, ResumeIntoAnotherSubcommandsRunIsRefused) {
  const auto dir = root_ / "run";
  { RunDirectory first("generate", {dir, false, false}, nlohmann::json{{"a", 1}}); }
  EXPECT_TRUE(fs::exists(dir / "run.json"));
  EXPECT_CONTAINS(output_error([&] {
                    RunDirectory("fp-data", {dir, false, true}, nlohmann::json::object());
                  }),
                  "'blockspin generate'");
  EXPECT_NO_THROW(RunDirectory("generate", {dir, false, true}, nlohmann::json{{"a", 1}}));
  EXPECT_NO_THROW(RunDirectory("fp-data", {dir, true, false}, nlohmann::json::object()));  // --force takes it over
}

TEST_F(OutputDir, ResumeConfigComparisonNamesKeysAndAllowsFreeKeys) {
  const auto dir = root_ / "run";
  ResumeRules rules;
  rules.free_keys = {"eval", "training.log_every"};
  const nlohmann::json now{{"eval", {{"n", 5}}}, {"training", {{"lr", 0.1}, {"log_every", 2}}}};
  RunDirectory run("train-flow", {dir, false, false}, now, rules);
  EXPECT_NO_THROW(run.check_resume_config(now));
  EXPECT_NO_THROW(run.check_resume_config({{"eval", {{"n", 7}}}, {"training", {{"lr", 0.1}, {"log_every", 9}}}}));
  try {
    run.check_resume_config({{"eval", {{"n", 5}}}, {"training", {{"lr", 0.2}, {"log_every", 2}}}});
    ADD_FAILURE() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(std::string(e.what()), "'training.lr'");
    EXPECT_CONTAINS(std::string(e.what()), "config differs");
  }
}

TEST_F(OutputDir, StartingFreshRemovesIntermediatesButKeepsResults) {
  const auto dir = root_ / "run";
  fs::create_directories(dir / "chunks");
  write_file_atomic(dir / "chunks" / "event_000000.h5", "x");
  write_file_atomic(dir / "checkpoint.h5", "x");
  write_file_atomic(dir / "ensemble.h5", "old result");
  RunDirectory run("generate", {dir, true, false}, nlohmann::json::object());
  EXPECT_FALSE(run.resume_or_start("checkpoint.h5", {"chunks", "checkpoint.h5"}));
  EXPECT_FALSE(fs::exists(dir / "chunks"));
  EXPECT_FALSE(fs::exists(dir / "checkpoint.h5"));
  EXPECT_EQ(read_file(dir / "ensemble.h5"), "old result");  // replaced only when the new run has its own
  const auto stamped = fs::last_write_time(dir / "run.json") - std::chrono::hours(1);
  fs::last_write_time(dir / "run.json", stamped);
  EXPECT_CONTAINS(output_error([&] {
                    RunDirectory again("generate", {dir, false, true}, nlohmann::json::object());
                    again.refuse_if_complete("ensemble.h5", "checkpoint.h5");
                  }),
                  "already complete");
  EXPECT_EQ(fs::last_write_time(dir / "run.json"), stamped);  // a refused resume writes nothing
}

}  // namespace
}  // namespace blockspin::run
