// The kinds of failure a blockspin program reports, and the exit status of each (README, "Exit codes").
//
//   0  success
//   1  runtime failure (a bug, an exhausted resource, a library error we did not anticipate)
//   2  config or command-line error (bad key, bad value, unknown option): nothing was written
//   3  output-directory error (exists without --force/--resume, not writable, disk full, wrong run kind)
//   4  input-file error (missing, unreadable, corrupt or inconsistent ensemble / checkpoint / model / data file)
//   5  numerical stop: training diverged (NaN/Inf) or a minimisation did not converge; what was computed is written,
//      the last good checkpoint is kept
//   6  distributed failure: another rank of the run died or timed out (the message names it); --resume continues
// Every error's what() is one line; the command line prints "blockspin SUB: error: <what>".
#pragma once

#include <stdexcept>
#include <string>

namespace blockspin::support {

enum class ExitCode : int { ok = 0, failure = 1, config = 2, output = 3, input = 4, numerical = 5, distributed = 6 };

/// A configuration error; what() names the key (full dotted path, with list indices like `actions[1].beta`) and
/// what was expected.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An output error; what() names the path and the reason.
struct OutputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An input-file error; what() names the file (and the object inside it) and what is wrong.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A numerical stop (NaN/Inf during training, non-convergence); what() says what and which state was kept.
struct NumericalStop : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A distributed run lost a rank (it died, or a collective timed out); what() names the collective and the ranks.
struct DistributedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The exit status for an exception thrown out of a subcommand.
ExitCode exit_code_of(const std::exception& e);

/// `text` cut to at most `max_chars` characters (with "... (N characters)" appended), for echoing user input.
std::string abbreviate(const std::string& text, std::size_t max_chars = 200);

}  // namespace blockspin::support
