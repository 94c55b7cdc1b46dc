// The subcommand registry of the `blockspin` CLI and the options every subcommand shares.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace blockspin::apps {

/// Options common to all subcommands: --config FILE, --set key.path=value (repeatable), --out DIR, --force, --resume.
struct CommonOptions {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  bool force = false;
  bool resume = false;
};

/// One subcommand: its name, one-line description, whether it can --resume, and what it runs.
struct CommandSpec {
  std::string name;
  std::string description;
  bool resumable = false;
  std::function<void(const CommonOptions&)> run;
};

/// All registered subcommands (each cmd_*.cpp registers itself with a static CommandRegistrar).
std::vector<CommandSpec>& commands();

struct CommandRegistrar {
  explicit CommandRegistrar(CommandSpec spec) { commands().push_back(std::move(spec)); }
};

}  // namespace blockspin::apps
