// The subcommand registry of the `blockspin` CLI and the options every subcommand shares.
#pragma once

#include "apps/app.h"
#include "support/config.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace blockspin::apps {

/// Options common to all subcommands: --config FILE, --set key.path=value (repeatable), --out DIR, --force, --resume.
struct CommonOptions {
  std::string config;  ///< empty when the subcommand's config is optional and none was given
  std::vector<std::string> overrides;
  std::string out;
  bool force = false;
  bool resume = false;
  bool check_config = false;  ///< --check-config: validate config and inputs, print the resolved config, write nothing
  std::map<std::string, std::string> extra;  ///< values of the subcommand's extra options, by long name
};

/// A subcommand-specific string option, e.g. `--ensemble FILE`.
struct ExtraOption {
  std::string name;  ///< long name without dashes
  std::string description;
  bool required = true;
};

/// One subcommand: its name, one-line description, whether it can --resume, and what it runs.
struct CommandSpec {
  std::string name;
  std::string description;
  bool resumable = false;
  std::function<void(const CommonOptions&)> run;
  std::vector<ExtraOption> extra_options = {};
  bool config_required = true;
  std::string out_description = "output directory";
  /// Shares its work over the ranks of a torchrun launch (run/distributed.h). A subcommand without it runs on rank 0
  /// alone as a single process; the other ranks exit at once with status 0.
  bool distributed = false;
};

/// With --check-config: prints the resolved config (defaults made explicit) and returns true — the subcommand then
/// returns before writing anything. Call it once the config and the inputs it names are validated.
bool config_checked(const CommonOptions& options, const support::Config& cfg);

/// All registered subcommands (each cmd_*.cpp registers itself with a static CommandRegistrar).
std::vector<CommandSpec>& commands();

/// `spec` marked as sharing its work over torchrun ranks (CommandSpec::distributed).
inline CommandSpec distributed(CommandSpec spec) {
  spec.distributed = true;
  return spec;
}

struct CommandRegistrar {
  explicit CommandRegistrar(CommandSpec spec) { commands().push_back(std::move(spec)); }
};

}  // namespace blockspin::apps
