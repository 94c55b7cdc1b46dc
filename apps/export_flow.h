// `blockspin export --model DIR` for a `train-flow` run: the trained RG flow as TorchScript (export_flow.cpp).
#pragma once

#include "apps/command.h"

#include <filesystem>

namespace blockspin::apps {

/// True when `dir` is a train-flow output (config.json and checkpoint.h5 at its top level).
bool is_flow_run(const std::filesystem::path& dir);

/// Writes DIR2/flow.pt (coarse field + standard-normal noise per level → fine field and log q̃), checked against the
/// C++ flow and its sampling path, plus reference_flow.h5 and export.json. Config keys: ode_steps, seed.
void run_export_flow(const CommonOptions& opt, const std::filesystem::path& model_dir);

}  // namespace blockspin::apps
