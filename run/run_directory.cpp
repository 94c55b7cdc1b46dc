// The run directory of a subcommand (see run_directory.h).
#include "run/run_directory.h"

#include "run/distributed.h"

#include "support/atomic_file.h"
#include "support/errors.h"
#include "support/version.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <system_error>

namespace blockspin::run {

namespace fs = std::filesystem;
using nlohmann::json;
using support::ConfigError;
using support::OutputError;

namespace {

constexpr const char* kRunFile = "run.json";

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

std::optional<int64_t> crash_after_from_environment() {
  const char* text = std::getenv("BLOCKSPIN_TEST_CRASH_AFTER");
  if (text == nullptr) return std::nullopt;
  // BLOCKSPIN_TEST_CRASH_RANK=R: in a distributed run only rank R dies.
  if (const char* rank = std::getenv("BLOCKSPIN_TEST_CRASH_RANK");
      rank != nullptr && std::string(rank) != std::to_string(communicator().rank()))
    return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long k = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || k < 1) return std::nullopt;
  return static_cast<int64_t>(k);
}

// "/a/b" (a JSON pointer) -> "a.b"
std::string dotted(const std::string& pointer) {
  std::string p = pointer.empty() ? pointer : pointer.substr(1);
  std::replace(p.begin(), p.end(), '/', '.');
  return p;
}

std::string quoted_list(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "'" : ", '") + k + "'";
  return out;
}

}  // namespace

void prepare_output_dir(const fs::path& dir, bool force, bool resume) {
  if (dir.empty()) throw OutputError("output directory must not be empty");
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw OutputError(fmt::format("cannot use output directory '{}': {}", dir.string(), ec.message()));
  }
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      throw OutputError(fmt::format("output path '{}' exists and is not a directory", dir.string()));
    }
    const bool empty = fs::is_empty(dir, ec);
    if (ec) throw OutputError(fmt::format("cannot read output directory '{}': {}", dir.string(), ec.message()));
    if (!empty && !force && !resume) {
      throw OutputError(fmt::format(
          "output directory '{}' already exists and is not empty (use --force to overwrite or --resume to continue)",
          dir.string()));
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      throw OutputError(fmt::format("output directory '{}' is not writable: {}", dir.string(), errno_text(errno)));
    }
    return;
  }

  // Remember which ancestors are missing so that a failure can remove exactly what was created.
  std::vector<fs::path> missing;  // deepest first
  std::error_code ignored;
  for (fs::path p = fs::absolute(dir, ignored).lexically_normal(); p.has_relative_path(); p = p.parent_path()) {
    if (fs::exists(fs::symlink_status(p, ignored))) break;
    missing.push_back(p);
  }
  fs::create_directories(dir, ec);
  if (!ec && ::access(dir.c_str(), W_OK | X_OK) != 0) ec = std::error_code(errno, std::generic_category());
  if (ec) {
    for (const fs::path& p : missing) fs::remove(p, ignored);  // only removes (empty) directories created here
    throw OutputError(fmt::format("cannot create output directory '{}': {}", dir.string(), ec.message()));
  }
}

RunDirectory::RunDirectory(std::string command, const RunRequest& request, json config, ResumeRules rules)
    : command_(std::move(command)),
      dir_(request.dir),
      config_(std::move(config)),
      rules_(std::move(rules)),
      resume_(request.resume),
      writes_(communicator().is_root()),
      crash_after_(crash_after_from_environment()) {
  if (!writes_) return;  // another rank of a distributed run: rank 0 owns the directory
  // run.json as found (read once): the owner check of a resume and the "unchanged" test below
  std::optional<json> previous;
  if (std::error_code ec; fs::exists(dir_ / kRunFile, ec)) {
    try {
      previous = json::parse(support::read_file(dir_ / kRunFile));
    } catch (const std::exception&) {
      previous = json();  // unreadable: no owner, never "unchanged"
    }
  }
  if (request.resume && previous) {
    std::string owner = "?";
    if (previous->is_object() && previous->contains("command") && previous->at("command").is_string())
      owner = previous->at("command").get<std::string>();
    if (owner != command_)
      throw OutputError(
          fmt::format("'{}' holds a run of 'blockspin {}', not of '{}': --resume refused (use another "
                      "--out, or --force to start over there)",
                      dir_.string(), owner, command_));
  }
  prepare_output_dir(dir_, request.force, request.resume);
  if (const int n = support::remove_stale_temp_files(dir_); n > 0)
    spdlog::info("removed {} temporary file(s) left in '{}' by an interrupted write", n, dir_.string());
  const json run = {{"command", command_}, {"blockspin_version", BLOCKSPIN_VERSION}};
  // a resume (even a refused one) leaves an identical run.json untouched; --force has emptied the directory
  std::error_code ec;
  const bool same = previous && *previous == run && fs::exists(dir_ / kRunFile, ec);
  if (!same) support::write_json_atomic(dir_ / kRunFile, run);
}

void RunDirectory::refuse_if_complete(const std::string& result, const std::string& checkpoint) const {
  if (!writes_) return;
  if (resume_ && fs::exists(dir_ / result) && !fs::exists(dir_ / checkpoint))
    throw OutputError(fmt::format("the run in '{}' is already complete ({} exists)", dir_.string(), result));
}

bool RunDirectory::resume_or_start(const std::string& checkpoint, const std::vector<std::string>& intermediates) const {
  const bool resuming =
      communicator().broadcast_flag(writes_ && resume_ && fs::exists(dir_ / checkpoint), "the resume decision");
  if (!writes_ || resuming) return resuming;
  if (resume_) spdlog::info("no {} in '{}': starting from the beginning", checkpoint, dir_.string());
  finish(intermediates);
  return false;
}

void RunDirectory::check_resume_config(const json& stored_raw) const {
  json stored = stored_raw;
  if (rules_.resolve) {
    try {
      stored = rules_.resolve(stored_raw);
    } catch (const std::exception&) {
      // not readable by this version: compare as stored
    }
  }
  if (stored == config_) return;
  std::vector<std::string> changed, forbidden;
  for (const auto& op : json::diff(stored, config_)) {
    const std::string key = dotted(op["path"].get<std::string>());
    const bool free = std::any_of(rules_.free_keys.begin(), rules_.free_keys.end(), [&](const std::string& k) {
      return key == k || key.rfind(k + ".", 0) == 0 || key.rfind(k + "[", 0) == 0;
    });
    (free ? changed : forbidden).push_back(key);
  }
  if (!forbidden.empty()) {
    const std::string allowed = rules_.free_keys.empty() ? std::string("the same config")
                                                         : "the same config except " + quoted_list(rules_.free_keys);
    throw ConfigError(
        fmt::format("the config differs from the one of the run in '{}' at {} (resume needs {}; use "
                    "--force to start over)",
                    dir_.string(), support::abbreviate(quoted_list(forbidden), 300), allowed));
  }
  spdlog::warn("resuming with changed {}: the continuation is valid but not bitwise identical to an uninterrupted run",
               quoted_list(changed));
}

void RunDirectory::crash_point(int64_t counter) const {
  if (crash_after_ && counter == *crash_after_) std::_Exit(86);
}

void RunDirectory::finish(const std::vector<std::string>& intermediates) const {
  if (!writes_) return;
  std::error_code ec;
  for (const auto& name : intermediates) fs::remove_all(dir_ / name, ec);
}

}  // namespace blockspin::run
