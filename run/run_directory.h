// The run directory of a subcommand — every rule about where a run writes, in one place: prepare / refuse / force,
// resume or start, the run kind (no --resume into another subcommand's directory), the resolved-config comparison
// with the keys a resume may change, stale temp files, the crash hook for tests. A new subcommand gets all of it by
// constructing a RunDirectory; checkpoints (checkpoint.h) and the NaN stop (divergence.h) build on it.
//
// In a distributed run (run/distributed.h) rank 0 alone owns the directory: on the other ranks a RunDirectory writes,
// removes and checks nothing (writes() is false), resume_or_start returns rank 0's decision, and checkpoints reach
// them through open_checkpoint (checkpoint.h). Every rank must make the same calls in the same order.
//
// DIR/run.json records {"command", "blockspin_version"} of the run that owns the directory.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace blockspin::run {

/// What the command line asked for: --out DIR, --force, --resume.
struct RunRequest {
  std::filesystem::path dir;
  bool force = false;
  bool resume = false;
};

/// What a --resume may change: dotted config keys (a key covers its sub-tree, e.g. "eval" covers "eval.n"), and how
/// a stored config is resolved with this version's defaults before the comparison (keys added since the run started
/// then compare equal when left at their default). Without `resolve` the stored config is compared as stored.
struct ResumeRules {
  std::vector<std::string> free_keys;
  std::function<nlohmann::json(const nlohmann::json&)> resolve;
};

/// Prepare an output directory. If it does not exist: create it (with parents). If it exists and is non-empty:
/// allowed with `force` or `resume`, otherwise OutputError "output directory 'DIR' already exists and is not empty
/// (use --force to overwrite or --resume to continue)". Also an error: the path exists but is not a directory, or the
/// directory is not writable. Creates nothing if it throws.
void prepare_output_dir(const std::filesystem::path& dir, bool force, bool resume);

class RunDirectory {
 public:
  /// Prepares request.dir for subcommand `command` (prepare_output_dir); refuses --resume into a directory whose
  /// run.json names another subcommand (OutputError); removes temp files that killed processes left; records run.json.
  /// `config` is the run's resolved config.
  RunDirectory(std::string command, const RunRequest& request, nlohmann::json config, ResumeRules rules = {});

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path operator/(const std::string& name) const { return dir_ / name; }
  const nlohmann::json& config() const { return config_; }
  const std::string& command() const { return command_; }
  bool resume_requested() const { return resume_; }
  /// Whether this process writes the run's files: true except on ranks > 0 of a distributed run.
  bool writes() const { return writes_; }

  /// With --resume, a run whose `result` exists while `checkpoint` does not is complete: OutputError.
  void refuse_if_complete(const std::string& result, const std::string& checkpoint) const;

  /// True when --resume was given and `checkpoint` exists (the caller continues from it; rank 0 decides for all).
  /// Otherwise the run starts from the beginning: the run's `intermediates` (files or directories relative to DIR, e.g.
  /// "checkpoint.h5", "chunks") are removed. Final results are never removed here — they are replaced atomically when
  /// the new run has produced its own.
  bool resume_or_start(const std::string& checkpoint, const std::vector<std::string>& intermediates) const;

  /// Compares the config stored with a checkpoint against this run's: differences outside the free keys ->
  /// ConfigError naming every differing key; differences in free keys -> a warning (valid, not bitwise identical).
  void check_resume_config(const nlohmann::json& stored) const;

  /// Test hook: with BLOCKSPIN_TEST_CRASH_AFTER=K (K >= 1) in the environment the process dies abruptly (_Exit(86), as
  /// a kill would) when `counter` == K; with BLOCKSPIN_TEST_CRASH_RANK=R only on rank R of a distributed run. Call it
  /// right after a unit of work has been made durable.
  void crash_point(int64_t counter) const;

  /// Removes the run's intermediates once its final results are written.
  void finish(const std::vector<std::string>& intermediates) const;

 private:
  std::string command_;
  std::filesystem::path dir_;
  nlohmann::json config_;
  ResumeRules rules_;
  bool resume_ = false;
  bool writes_ = true;
  std::optional<int64_t> crash_after_;
};

}  // namespace blockspin::run
