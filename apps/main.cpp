// `blockspin`: one command line for all experiments; subcommands are config-driven (see README).
#include "apps/command.h"
#include "support/config.h"
#include "run/checkpoint.h"
#include "run/distributed.h"
#include "support/atomic_file.h"
#include "support/errors.h"
#include "support/version.h"

#include <CLI/CLI.hpp>
#include <H5Cpp.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <stdexcept>

namespace blockspin::apps {

bool config_checked(const CommonOptions& options, const Config& cfg) {
  if (!options.check_config) return false;
  fmt::print("{}\n", cfg.resolved().dump(2));
  fmt::print("config OK ({}); nothing written\n", cfg.source());
  return true;
}

std::vector<CommandSpec>& commands() {
  static std::vector<CommandSpec> registry;
  return registry;
}

}  // namespace blockspin::apps

namespace {

// The first line of a message, at most 1000 characters (errors are one line; a multi-megabyte config value is not
// echoed in full).
std::string one_line(const std::string& what) {
  std::string line = what.substr(0, what.find('\n'));
  return blockspin::support::abbreviate(line, 1000);
}

std::string version_text() {
  const auto env = blockspin::run::numerics_environment();
  return fmt::format("blockspin {} (LibTorch {}; BLAS {}; {} threads; CPU {}; fused kernels {})", BLOCKSPIN_VERSION,
                     env["libtorch"].get<std::string>(), env["blas"].get<std::string>(), env["threads"].get<int>(),
                     env["isa"].get<std::string>(), env["kernels_isa"].get<std::string>());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace blockspin::apps;
  // A file-size limit (ulimit -f) or quota makes write() fail with EFBIG, which every writer reports as an output
  // error, instead of killing the process mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"blockspin " BLOCKSPIN_VERSION
               ": renormalisation-group-informed machine learning for lattice field theory.\n"
               "Every subcommand runs one experiment described by a JSON config."};
  app.set_version_flag("--version", std::function<std::string()>(version_text));  // computed only when asked
  app.require_subcommand(1);
  std::string log_level = "info";
  const auto levels = CLI::IsMember({"trace", "debug", "info", "warn", "error"});
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->check(levels);
  // Distributed runs (torchrun / srun set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; run/distributed.h).
  blockspin::run::DistributedOptions distributed;
  int64_t distributed_timeout = distributed.timeout.count();
  const auto backends = CLI::IsMember({"auto", "gloo", "nccl"});
  auto add_distributed = [&](CLI::App* a) {
    a->add_option("--distributed-backend", distributed.backend,
                  "under torchrun: auto (NCCL on CUDA builds with a GPU, else Gloo), gloo or nccl")
        ->check(backends);
    a->add_option("--distributed-timeout", distributed_timeout,
                  "under torchrun: seconds a collective may wait for the other ranks before the run stops")
        ->check(CLI::PositiveNumber);
  };
  add_distributed(&app);

  auto& specs = commands();
  std::sort(specs.begin(), specs.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  CommonOptions options;
  const CommandSpec* chosen = nullptr;
  for (const auto& spec : specs) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    auto* config = sub->add_option("-c,--config", options.config, "experiment config (JSON)")->check(CLI::ExistingFile);
    if (spec.config_required) config->required();
    sub->add_option("-s,--set", options.overrides, "override a config value: key.path=JSON (repeatable)")->take_all();
    sub->add_option("-o,--out", options.out, spec.out_description)->required();
    for (const auto& extra : spec.extra_options) {
      auto* o = sub->add_option("--" + extra.name, options.extra[extra.name], extra.description);
      if (extra.required) o->required();
    }
    sub->add_flag("--force", options.force, "overwrite an existing, non-empty output directory");
    if (spec.resumable) sub->add_flag("--resume", options.resume, "continue an interrupted run in --out");
    sub->add_flag("--check-config", options.check_config,
                  "validate the config and the inputs it names, print the resolved config, write nothing");
    // Accepted after the subcommand too: `blockspin generate ... --log-level debug`.
    sub->add_option("--log-level", log_level, "trace, debug, info, warn, error")->check(levels);
    add_distributed(sub);
    sub->final_callback([&chosen, &spec] { chosen = &spec; });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {  // one line, like every other error
    std::fprintf(stderr, "blockspin: error: %s (see blockspin --help)\n", one_line(e.what()).c_str());
    return static_cast<int>(ExitCode::config);
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");

  std::string prefix = "blockspin " + chosen->name + ": error: ";
  auto fail = [&](const std::string& what, ExitCode code) {
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), one_line(what).c_str());
    return static_cast<int>(code);
  };
  try {
    distributed.timeout = std::chrono::seconds(distributed_timeout);
    const auto launch = blockspin::run::launch_environment();
    if (launch.launched() && !chosen->distributed) {
      // Not shared over ranks: rank 0 runs it as one process, the others have nothing to do.
      if (launch.rank != 0) {
        spdlog::info("blockspin {} runs on one process: rank {} has nothing to do", chosen->name, launch.rank);
        return 0;
      }
      spdlog::warn("blockspin {} is not distributed: rank 0 runs it alone (the other ranks exit)", chosen->name);
    } else {
      blockspin::run::init_distributed(distributed);
    }
    const auto& comm = blockspin::run::communicator();
    if (comm.distributed()) {
      prefix = fmt::format("blockspin {} [rank {}]: error: ", chosen->name, comm.rank());
      // Results and summaries are printed once, by rank 0; the other ranks keep stderr (errors, warnings).
      if (!comm.is_root() && std::freopen("/dev/null", "w", stdout) == nullptr) std::fclose(stdout);
    }
    chosen->run(options);
  } catch (const c10::Error& e) {
    return fail(e.what_without_backtrace(), ExitCode::failure);
  } catch (const std::exception& e) {
    return fail(e.what(), exit_code_of(e));
  } catch (const H5::Exception& e) {
    return fail("HDF5: " + e.getDetailMsg() + " in " + e.getFuncName(), ExitCode::failure);
  } catch (...) {
    return fail("unknown exception", ExitCode::failure);
  }
  return 0;
}
