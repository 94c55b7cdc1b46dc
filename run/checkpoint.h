// Checkpoint files of a run: written atomically through io::write_h5_atomic with the run's resolved config and the
// numerics environment (LibTorch, BLAS, threads, ISA) as attributes; opened with the format, the config (the run
// directory's resume rules) and the environment checked. Bitwise-identical resume needs the same environment: a
// different one is a warning, not an error (the continuation is valid, its random-number sequence is the same, its
// rounding is not).
#pragma once

#include "run/run_directory.h"

#include <H5Cpp.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>

namespace blockspin::run {

/// The numerics environment of this process: {"libtorch", "blas", "threads", "isa"}.
nlohmann::json numerics_environment();

/// Writes DIR/`name` atomically as an HDF5 file of format `format`: `fill` writes the run's state; the attributes
/// "config" (the run's resolved config), "numerics" (numerics_environment()) and "distributed" (world_size, backend,
/// hosts) are added. Only rank 0 of a distributed run writes (elsewhere a no-op).
void write_checkpoint(const RunDirectory& run, const std::string& name, const std::string& format,
                      const std::function<void(H5::H5File&)>& fill);

/// The resolved config a checkpoint file at `path` (format `format`) was written with (its "config" attribute);
/// InputError naming the file if it is damaged.
nlohmann::json read_checkpoint_config(const std::filesystem::path& path, const std::string& format);

/// The world size of the run that wrote a checkpoint (its "distributed" attribute; 1 when absent, -1 when damaged).
int64_t stored_world_size(const H5::H5File& f);

/// Opens DIR/`name` (format-checked; damaged or foreign files -> InputError naming the file), compares its stored
/// config with the run's (RunDirectory::check_resume_config) and warns when the numerics environment or the world
/// size differs. Collective in a distributed run: rank 0 reads its file and the other ranks open a copy of it.
H5::H5File open_checkpoint(const RunDirectory& run, const std::string& name, const std::string& format);

}  // namespace blockspin::run
