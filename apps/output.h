// Run outputs: output-directory preparation, atomic file writes (temp file + rename) and whole-file reads.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace blockspin::apps {

/// An output error; what() is one line naming the path and the reason.
struct OutputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Write `contents` to `path` atomically: a temp file in the same directory ("PATH.tmp.<pid>.<counter>") is written,
/// flushed and fsync'ed, then renamed over the target (and the directory fsync'ed). On any failure the temp file is
/// removed and OutputError naming `path` is thrown; the target is either the old file or the complete new one.
/// The directory must exist (it is not created).
void write_file_atomic(const std::filesystem::path& path, const std::string& contents);

/// `j.dump(indent)` plus a newline, written atomically (invalid UTF-8 in strings -> OutputError, nothing written).
void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& j, int indent = 2);

/// Prepare an output directory for a run. If it does not exist: create it (with parents). If it exists and is
/// non-empty: allowed with `force` (files will be overwritten atomically) or `resume`, otherwise OutputError
/// "output directory 'DIR' already exists and is not empty (use --force to overwrite or --resume to continue)".
/// Also an error: the path exists but is not a directory, or the directory is not writable.
/// Creates nothing if it throws. (Rejecting --force together with --resume is left to the command line.)
void prepare_output_dir(const std::filesystem::path& dir, bool force, bool resume);

/// Read a whole file (OutputError naming the path on failure).
std::string read_file(const std::filesystem::path& path);

}  // namespace blockspin::apps
