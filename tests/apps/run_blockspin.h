// Runs the `blockspin` executable from tests and captures its exit status and combined output.
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace blockspin::apps::testing {

struct RunResult {
  int status;          ///< exit status (-1 if killed by a signal)
  std::string output;  ///< stdout and stderr
};

/// `env` is prepended to the command line (e.g. "VAR=1").
inline RunResult run_blockspin(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + " " + BLOCKSPIN_BINARY + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int raw = pclose(pipe);
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, out};
}

}  // namespace blockspin::apps::testing
