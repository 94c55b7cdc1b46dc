// Atomic file replacement — the one place where blockspin writes a file: temp file in the same directory, fsync of
// the file, rename over the target, fsync of the directory. A reader sees the old file or the complete new one.
#pragma once

#include "support/errors.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace blockspin::support {

/// Write `contents` to `path` atomically: a temp file "PATH.tmp.<pid>.<counter>" in the same directory is written and
/// fsync'ed, renamed over the target, and the directory fsync'ed. On any failure (including a full disk) the temp file
/// is removed and OutputError naming `path` is thrown. The directory must exist (it is not created).
void write_file_atomic(const std::filesystem::path& path, const std::string& contents);

/// `j.dump(indent)` plus a newline, written atomically (invalid UTF-8 in strings -> OutputError, nothing written).
void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& j, int indent = 2);

/// Best effort: make a rename in `dir` durable (fsync of the directory).
void sync_directory(const std::filesystem::path& dir);

/// Removes, in `dir` and its subdirectories, the temp files ("*.tmp.<pid>.<n>") that processes which no longer run
/// left behind (a kill during an atomic write). Returns how many were removed. Temp files of live processes stay.
int remove_stale_temp_files(const std::filesystem::path& dir);

/// Read a whole file (InputError naming the path on failure).
std::string read_file(const std::filesystem::path& path);

}  // namespace blockspin::support
