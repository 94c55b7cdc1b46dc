// DIR/.../metrics.jsonl: one JSON object per line, appended (and flushed) as a run goes; on --resume the lines past the
// checkpoint being resumed are dropped, so a resumed run's log reads like an uninterrupted one.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

namespace blockspin::run {

/// Keeps the lines of `path` whose "step" is <= `step` (and stops at a torn last line a killed run left); atomic.
/// Nothing happens when the file does not exist.
void truncate_metrics(const std::filesystem::path& path, int64_t step);

/// Every line of `path` as JSON (empty when the file does not exist; a torn last line is skipped).
std::vector<nlohmann::json> read_metrics(const std::filesystem::path& path);

/// An open metrics.jsonl. Construct it after the resume decision: `resumed_step` >= 0 keeps the lines up to that
/// step (truncate_metrics), -1 starts an empty file.
class MetricsLog {
 public:
  MetricsLog(std::filesystem::path path, int64_t resumed_step);
  /// Appends one line and flushes it (a kill loses at most a torn line, which the next resume drops).
  void append(const nlohmann::json& line);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace blockspin::run
