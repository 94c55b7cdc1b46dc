// Runs the `blockspin` executable from tests and captures its exit status and combined output.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace blockspin::apps::testing {

struct RunResult {
  int status;          ///< exit status (-1 if killed by a signal)
  std::string output;  ///< stdout and stderr
};

/// Runs a shell command line, capturing stdout and stderr.
inline RunResult run_command(const std::string& command) {
  const std::string cmd = command + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int raw = pclose(pipe);
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, out};
}

/// `env` is prepended to the command line (e.g. "VAR=1").
inline RunResult run_blockspin(const std::string& args, const std::string& env = "") {
  return run_command(env + " " + BLOCKSPIN_BINARY + " " + args);
}

/// Runs tests/python/check_export.py (Debian python3-torch + h5py) on an export directory.
inline RunResult run_export_check(const std::filesystem::path& export_dir) {
  return run_command(std::string(BLOCKSPIN_PYTHON) + " " + BLOCKSPIN_SOURCE_DIR + "/tests/python/check_export.py " +
                     export_dir.string());
}

/// An empty directory temp/<prefix><name of the running test> (an old one of that name is removed first).
inline std::filesystem::path fresh_test_dir(const std::string& prefix) {
  const auto dir = std::filesystem::temp_directory_path() /
                   (prefix + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace blockspin::apps::testing
