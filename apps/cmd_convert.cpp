// `blockspin convert --in PATH --out DIR [--config C]`: HDF5 ensemble <-> NERSC gauge configuration files.
//
// An HDF5 ensemble becomes NERSC files DIR/<prefix>.c<chain>.<trajectory> (zero-padded), one per configuration,
// SU(3) in 4D; a NERSC file, or a directory of them read in name order, becomes DIR/ensemble.h5 with chain and
// trajectory from those names (other names: chain 0, trajectory = SEQUENCE_NUMBER). Every input is read and checked
// (checksum, plaquette, link trace, unitarity) before anything is written.
#include "apps/command.h"
#include "support/config.h"
#include "io/ensemble_file.h"
#include "io/h5io.h"
#include "run/run_directory.h"
#include "support/atomic_file.h"

#include "io/nersc.h"
#include "lattice/observables.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <filesystem>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using nlohmann::json;

/// HDF5 ensemble -> one NERSC file per configuration, named PREFIX.cCCC.TTTTTT (chain, trajectory; zero-padded so
/// that name order is (chain, trajectory) order). All or nothing: if one file fails, the files written so far are
/// removed.
void write_nersc_files(const Ensemble& e, const fs::path& in, const fs::path& out, bool force,
                       const io::NerscWriteOptions& w, const std::string& prefix) {
  if (e.links.dim() != 8 || e.links.size(1) != 4 || e.links.size(-1) != 3)
    throw InputError("NERSC files hold 4D SU(3) configurations; '" + in.string() + "' has links of shape " +
                     fmt::format("[{}]", fmt::join(e.links.sizes(), ", ")));
  prepare_output_dir(out, force, false);
  std::vector<fs::path> written;
  try {
    for (int64_t i = 0; i < e.links.size(0); ++i) {
      auto opts = w;
      opts.sequence_number = e.trajectory[i].item<int64_t>();
      const auto file =
          out / fmt::format("{}.c{:03d}.{:06d}", prefix, e.chain[i].item<int64_t>(), opts.sequence_number);
      io::write_nersc(file, e.links[i], opts);
      written.push_back(file);
    }
  } catch (...) {
    std::error_code ignored;
    for (const auto& f : written) fs::remove(f, ignored);
    throw;
  }
  fmt::print("wrote {} NERSC files to {}\n", e.links.size(0), out.string());
}

/// A NERSC file or a directory of them -> an ensemble. Chain and trajectory come from names PREFIX.cCCC.TTTTTT
/// (as written above); otherwise chain 0 and the header's SEQUENCE_NUMBER. Every file of a directory must be a NERSC
/// file of the same lattice: a foreign file (*.xml, RNG states) or another size is an InputError naming the file.
Ensemble read_nersc_files(const fs::path& in) {
  std::vector<fs::path> files;
  if (fs::is_directory(in)) {
    for (const auto& entry : fs::directory_iterator(in))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(in);
  }
  if (files.empty()) throw InputError("no files in '" + in.string() + "'");
  static const std::regex chain_name(R"(.*\.c([0-9]+)\.([0-9]+)$)");
  std::vector<torch::Tensor> links;
  std::vector<int64_t> seq, chain;
  for (const auto& f : files) {
    {
      std::ifstream probe(f, std::ios::binary);
      std::string first(12, '\0');
      probe.read(first.data(), 12);
      if (first != "BEGIN_HEADER")
        throw InputError(
            fmt::format("'{}' in '{}' is not a NERSC file (no BEGIN_HEADER); move foreign files out of "
                        "the directory",
                        f.filename().string(), in.string()));
    }
    io::NerscHeader h;
    links.push_back(io::read_nersc(f, &h));
    if (links.size() > 1 && links.back().sizes() != links.front().sizes())
      throw InputError(fmt::format("'{}' holds a {} lattice, '{}' a {} lattice: one ensemble needs one size",
                                   f.string(), fmt::join(links.back().sizes().slice(2, 4), "x"), files.front().string(),
                                   fmt::join(links.front().sizes().slice(2, 4), "x")));
    std::smatch m;
    const std::string name = f.filename().string();
    if (std::regex_match(name, m, chain_name)) {
      chain.push_back(std::stoll(m[1].str()));
      seq.push_back(std::stoll(m[2].str()));
    } else {
      auto it = h.fields.find("SEQUENCE_NUMBER");
      int64_t n = static_cast<int64_t>(seq.size());
      if (it != h.fields.end()) {
        try {
          n = std::stoll(it->second);
        } catch (const std::exception&) {
          throw InputError(
              fmt::format("'{}': SEQUENCE_NUMBER '{}' is not an integer", f.string(), abbreviate(it->second, 40)));
        }
      }
      chain.push_back(0);
      seq.push_back(n);
    }
    spdlog::info("read {} (plaquette {:.6f})", f.string(), h.plaquette);
  }
  Ensemble e;
  e.links = torch::cat(links);
  e.plaquette = L::average_plaquette(e.links).to(torch::kDouble);
  e.chain = torch::tensor(chain, torch::kLong);
  e.trajectory = torch::tensor(seq, torch::kLong);
  e.config = {{"converted_from", in.string()}};
  return e;
}

void run_convert(const CommonOptions& opt) {
  Config cfg =
      opt.config.empty() ? Config::from_json(json::object(), opt.overrides) : Config::load(opt.config, opt.overrides);
  auto n = cfg.child("nersc");
  io::NerscWriteOptions w;
  w.two_rows = n.get<bool>("two_rows", false);
  w.double_precision = n.get<std::string>("precision", "double", Check::one_of({"double", "single"})) == "double";
  w.ensemble_id = n.get<std::string>("ensemble_id", "blockspin");
  w.ensemble_label = n.get<std::string>("ensemble_label", "");
  const auto prefix = n.get<std::string>("file_prefix", "ckpoint_lat");
  cfg.check_unused();
  if (config_checked(opt, cfg)) return;

  const fs::path in = opt.extra.at("in");
  const fs::path out = opt.out;
  if (!fs::exists(in)) throw InputError("input '" + in.string() + "' does not exist");
  const bool from_hdf5 = fs::is_regular_file(in) && H5::H5File::isHdf5(in.string());
  if (from_hdf5) {
    write_nersc_files(read_ensemble(in), in, out, opt.force, w, prefix);
    return;
  }
  Ensemble e = read_nersc_files(in);
  prepare_output_dir(out, opt.force, false);
  write_ensemble(out / "ensemble.h5", e);
  fmt::print("wrote {} configurations to {}\n", e.links.size(0), (out / "ensemble.h5").string());
}

const CommandRegistrar registrar{{"convert",
                                  "convert between HDF5 ensembles and NERSC gauge configuration files "
                                  "(checksum, plaquette and link trace checked on read)",
                                  false,
                                  run_convert,
                                  {{"in", "HDF5 ensemble, NERSC file, or a directory of NERSC files", true}},
                                  false,
                                  "output directory"}};

}  // namespace
}  // namespace blockspin::apps
