// Checkpoint files of a run (see checkpoint.h).
#include "run/checkpoint.h"
#include "run/distributed.h"
#include "support/atomic_file.h"

#include "io/h5io.h"
#include "lattice/kernels/lane_kernels.h"
#include "support/errors.h"
#include "support/version.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <unistd.h>

#include <fstream>
#include <regex>

namespace blockspin::run {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The BLAS library this process has mapped (the real file behind libblas.so.3 / Debian's alternatives).
std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  static const std::regex blas(R"((/\S*(blas|openblas|mkl_rt|blis)\S*\.so\S*))");
  while (std::getline(maps, line)) {
    std::smatch m;
    if (std::regex_search(line, m, blas)) {
      std::error_code ec;
      const auto real = fs::canonical(m[1].str(), ec);
      return ec ? m[1].str() : real.string();
    }
  }
  return "none mapped";
}

std::string cpu_isa() {
  const std::string config = torch::show_config();
  static const std::regex capability(R"(CPU capability usage:\s*(\S+))");
  std::smatch m;
  if (std::regex_search(config, m, capability)) return m[1].str();
#if defined(__AVX512F__)
  return "AVX512 (compile time)";
#elif defined(__AVX2__)
  return "AVX2 (compile time)";
#else
  return "unknown";
#endif
}

}  // namespace

json numerics_environment() {
  // The mapped BLAS and the CPU capability do not change while the process runs: looked up once.
  static const std::string blas = loaded_blas(), isa = cpu_isa();
  return {{"libtorch", TORCH_VERSION},
          {"blas", blas},
          {"threads", at::get_num_threads()},
          {"isa", isa},
          {"kernels_isa", lattice::kernels::lanes::compiled_isa()}};
}

void write_checkpoint(const RunDirectory& run, const std::string& name, const std::string& format,
                      const std::function<void(H5::H5File&)>& fill) {
  if (!run.writes()) return;
  const std::string distributed = communicator().describe().dump();
  const std::string numerics = numerics_environment().dump();
  io::write_h5_atomic(run / name, format, BLOCKSPIN_VERSION, [&](H5::H5File& f) {
    fill(f);
    io::write_attribute(f, "config", run.config().dump());
    io::write_attribute(f, "numerics", numerics);
    io::write_attribute(f, "distributed", distributed);
  });
}

namespace {

json stored_config(const H5::H5File& f, const fs::path& path) {
  try {
    return json::parse(io::read_string_attribute(f, "config"));
  } catch (const json::exception& e) {
    throw support::InputError(fmt::format("'{}': the stored config is damaged ({})", path.string(), e.what()));
  }
}

}  // namespace

json read_checkpoint_config(const fs::path& path, const std::string& format) {
  return stored_config(io::open_h5(path, format), path);
}

int64_t stored_world_size(const H5::H5File& f) {
  if (!io::has_attribute(f, "distributed")) return 1;  // written before distributed runs existed: one process
  try {
    return json::parse(io::read_string_attribute(f, "distributed")).at("world_size").get<int64_t>();
  } catch (const json::exception&) {
    return -1;
  }
}

H5::H5File open_checkpoint(const RunDirectory& run, const std::string& name, const std::string& format) {
  fs::path path = run / name;
  const Communicator& comm = communicator();
  bool copy = false;
  if (comm.distributed()) {
    // Rank 0 owns the run directory (it need not be shared): the others open a copy of its file.
    const std::string bytes =
        comm.broadcast_bytes(comm.is_root() ? support::read_file(path) : std::string(), "the checkpoint " + name);
    if (!comm.is_root()) {
      path = fs::temp_directory_path() /
             fmt::format("blockspin-{}-rank{}-{}", ::getpid(), comm.rank(), fs::path(name).filename().string());
      std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      copy = true;
    }
  }
  H5::H5File f = io::open_h5(path, format);
  if (copy) fs::remove(path);  // the open file stays readable
  path = run / name;
  run.check_resume_config(stored_config(f, path));
  if (const int64_t w = stored_world_size(f); w != comm.world_size())
    spdlog::warn("'{}' was written by a run of {} process(es), this one has {}", path.string(), w, comm.world_size());
  if (io::has_attribute(f, "numerics")) {
    json then;
    try {
      then = json::parse(io::read_string_attribute(f, "numerics"));
    } catch (const json::exception&) {
      then = "damaged";
    }
    const json now = numerics_environment();
    if (then != now)
      spdlog::warn(
          "'{}' was written with numerics {}, this process runs {}: the resumed run is valid but not bitwise "
          "identical to an uninterrupted one",
          path.string(), then.dump(), now.dump());
  }
  return f;
}

}  // namespace blockspin::run
