// `blockspin convert --in PATH --out DIR [--format F] [--config C]`: gauge ensembles between blockspin's HDF5 and
// the community's per-configuration formats — NERSC, ILDG (LIME) and openQCD (io/gauge_files.h).
//
// The input's format comes from its content: an HDF5 ensemble, or one gauge file, or a directory of them (read in
// name order, any mix of formats, one lattice). The output format is --format (hdf5, nersc, ildg, openqcd); by default
// nersc for an HDF5 input and hdf5 otherwise. hdf5 writes DIR/ensemble.h5; the others one file per configuration,
// DIR/<file_prefix>.c<chain>.<trajectory>. Every input is read and checked (checksums, header plaquette, link trace,
// unitarity) before anything is written; a failed write removes the files written so far.
#include "apps/command.h"
#include "io/ensemble_file.h"
#include "io/gauge_files.h"
#include "io/h5io.h"
#include "run/run_directory.h"
#include "support/atomic_file.h"
#include "support/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// An ensemble -> one file per configuration, named PREFIX.cCCC.TTTTTT (chain, trajectory; zero-padded so that name
/// order is (chain, trajectory) order). All or nothing: if one file fails, the files written so far are removed.
void write_per_configuration(const Ensemble& e, const fs::path& in, const fs::path& out, bool force,
                             io::GaugeFormat format, const io::GaugeWriteOptions& w, const std::string& prefix) {
  const std::string name = io::format_name(format);
  if (e.links.dim() != 8 || e.links.size(1) != 4 || e.links.size(-1) != 3)
    throw InputError(fmt::format("{} files hold 4D SU(3) configurations; '{}' has links of shape [{}]", name,
                                 in.string(), fmt::join(e.links.sizes(), ", ")));
  if (format == io::GaugeFormat::openqcd)
    for (int64_t d = 2; d < 6; ++d)
      if (e.links.size(d) % 2 != 0)
        throw InputError(fmt::format("openQCD needs even extents; '{}' is a {} lattice", in.string(),
                                     fmt::join(e.links.sizes().slice(2, 4), "x")));
  prepare_output_dir(out, force, false);
  std::vector<fs::path> written;
  try {
    for (int64_t i = 0; i < e.links.size(0); ++i) {
      auto opts = w;
      opts.sequence_number = e.trajectory[i].item<int64_t>();
      const auto file =
          out / fmt::format("{}.c{:03d}.{:06d}", prefix, e.chain[i].item<int64_t>(), opts.sequence_number);
      if (!w.lfn.empty()) opts.lfn = w.lfn + "/" + file.filename().string();
      io::write_gauge_file(file, e.links[i], format, opts);
      written.push_back(file);
    }
  } catch (...) {
    std::error_code ignored;
    for (const auto& f : written) fs::remove(f, ignored);
    throw;
  }
  fmt::print("wrote {} {} files to {}\n", e.links.size(0), name, out.string());
}

void run_convert(const CommonOptions& opt) {
  Config cfg =
      opt.config.empty() ? Config::from_json(json::object(), opt.overrides) : Config::load(opt.config, opt.overrides);
  io::GaugeWriteOptions w;
  auto n = cfg.child("nersc");
  w.nersc_two_rows = n.get<bool>("two_rows", false);
  const bool nersc_double = n.get<std::string>("precision", "double", Check::one_of({"double", "single"})) == "double";
  w.ensemble_id = n.get<std::string>("ensemble_id", "blockspin");
  w.ensemble_label = n.get<std::string>("ensemble_label", "");
  const auto nersc_prefix = n.get<std::string>("file_prefix", "ckpoint_lat");
  auto il = cfg.child("ildg");
  const bool ildg_double = il.get<std::string>("precision", "double", Check::one_of({"double", "single"})) == "double";
  w.lfn = il.get<std::string>("lfn", "");
  const auto prefix = cfg.get<std::string>("file_prefix", nersc_prefix);
  cfg.check_unused();
  if (config_checked(opt, cfg)) return;

  const fs::path in = opt.extra.at("in");
  const fs::path out = opt.out;
  if (!fs::exists(in)) throw InputError("input '" + in.string() + "' does not exist");
  const bool from_hdf5 = fs::is_regular_file(in) && io::detect_gauge_format(in) == io::GaugeFormat::hdf5;
  io::GaugeFormat to = from_hdf5 ? io::GaugeFormat::nersc : io::GaugeFormat::hdf5;
  const std::string format = opt.extra.count("format") != 0 ? opt.extra.at("format") : "";
  if (!format.empty()) {
    try {
      to = io::format_from_name(format);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("--format: ") + e.what());
    }
  }
  const Ensemble e = io::read_any_ensemble(in);  // everything read and checked before anything is written
  spdlog::info("read {} configurations of a {} lattice from {}", e.links.size(0),
               fmt::join(e.links.sizes().slice(2, e.links.dim() - 4), "x"), in.string());
  if (to == io::GaugeFormat::hdf5) {
    prepare_output_dir(out, opt.force, false);
    write_ensemble(out / "ensemble.h5", e);
    fmt::print("wrote {} configurations to {}\n", e.links.size(0), (out / "ensemble.h5").string());
    return;
  }
  w.double_precision = to == io::GaugeFormat::ildg ? ildg_double : nersc_double;
  write_per_configuration(e, in, out, opt.force, to, w, prefix);
}

const CommandRegistrar convert_registrar{
    {"convert",
     "convert gauge ensembles between HDF5 and NERSC, ILDG (LIME) and openQCD files "
     "(format read from the content; checksums, plaquette and unitarity checked on read)",
     false,
     run_convert,
     {{"in", "HDF5 ensemble, a NERSC/ILDG/openQCD file, or a directory of them", true},
      {"format",
       "output format: hdf5, nersc, ildg, openqcd (default: nersc from HDF5, "
       "hdf5 otherwise)",
       false}},
     false,
     "output directory"}};

}  // namespace
}  // namespace blockspin::apps
