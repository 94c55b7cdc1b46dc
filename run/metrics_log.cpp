// metrics.jsonl: append, truncate on resume, read back.
#include "run/metrics_log.h"
#include "run/distributed.h"

#include "support/atomic_file.h"

#include <stdexcept>
#include <string>

namespace blockspin::run {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// The complete lines of `path`, parsed; stops at the first line that is not valid JSON (a torn write).
std::vector<std::pair<std::string, json>> parsed_lines(const fs::path& path) {
  std::vector<std::pair<std::string, json>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      out.emplace_back(line, json::parse(line));
    } catch (const json::exception&) {
      break;
    }
  }
  return out;
}

}  // namespace

void truncate_metrics(const fs::path& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::string kept;
  for (const auto& [text, j] : parsed_lines(path)) {
    if (j.value("step", int64_t{0}) > step) break;
    kept += text + "\n";
  }
  support::write_file_atomic(path, kept);
}

std::vector<json> read_metrics(const fs::path& path) {
  std::vector<json> out;
  for (auto& [text, j] : parsed_lines(path)) out.push_back(std::move(j));
  return out;
}

MetricsLog::MetricsLog(fs::path path, int64_t resumed_step) : path_(std::move(path)) {
  if (!communicator().is_root()) return;  // rank 0 of a distributed run keeps the log
  if (resumed_step >= 0)
    truncate_metrics(path_, resumed_step);
  else
    support::write_file_atomic(path_, "");
  out_.open(path_, std::ios::app);
  if (!out_) throw std::runtime_error("cannot open '" + path_.string() + "' for appending");
}

void MetricsLog::append(const json& line) {
  if (!out_.is_open()) return;
  out_ << line.dump() << "\n";
  out_.flush();
}

}  // namespace blockspin::run
