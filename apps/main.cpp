// `blockspin`: one command line for all experiments; subcommands are config-driven (see README).
#include "apps/command.h"
#include "apps/config.h"
#include "apps/output.h"
#include "apps/version.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace blockspin::apps {

std::vector<CommandSpec>& commands() {
  static std::vector<CommandSpec> registry;
  return registry;
}

}  // namespace blockspin::apps

int main(int argc, char** argv) {
  using namespace blockspin::apps;
  CLI::App app{"blockspin " BLOCKSPIN_VERSION
               ": renormalisation-group-informed machine learning for lattice field theory.\n"
               "Every subcommand runs one experiment described by a JSON config."};
  app.set_version_flag("--version", std::string("blockspin ") + BLOCKSPIN_VERSION + " (LibTorch " +
                                        TORCH_VERSION + ")");
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  auto& specs = commands();
  std::sort(specs.begin(), specs.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  CommonOptions options;
  const CommandSpec* chosen = nullptr;
  for (const auto& spec : specs) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    auto* config = sub->add_option("-c,--config", options.config, "experiment config (JSON)")->check(CLI::ExistingFile);
    if (spec.config_required) config->required();
    sub->add_option("-s,--set", options.overrides, "override a config value: key.path=JSON (repeatable)")
        ->take_all();
    sub->add_option("-o,--out", options.out, spec.out_description)->required();
    for (const auto& extra : spec.extra_options) {
      auto* o = sub->add_option("--" + extra.name, options.extra[extra.name], extra.description);
      if (extra.required) o->required();
    }
    sub->add_flag("--force", options.force, "overwrite an existing, non-empty output directory");
    if (spec.resumable) sub->add_flag("--resume", options.resume, "continue an interrupted run in --out");
    sub->final_callback([&chosen, &spec] { chosen = &spec; });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");

  const std::string prefix = "blockspin " + chosen->name + ": error: ";
  try {
    chosen->run(options);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), e.what());
    return 2;
  } catch (const OutputError& e) {
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), e.what());
    return 3;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), e.what());
    return 1;
  }
  return 0;
}
