// `blockspin convert --in PATH --out DIR [--config C]`: HDF5 ensemble <-> NERSC gauge configuration files.
//
// An HDF5 ensemble becomes NERSC files DIR/<prefix>.<trajectory> (or <prefix>.c<chain>.<trajectory> for several
// chains; zero-padded), one per configuration, SU(3) in 4D; a NERSC file, or a directory of them read in name order,
// becomes DIR/ensemble.h5 (trajectory = SEQUENCE_NUMBER, chain 0). Every input is read and checked (checksum, plaquette, link trace,
// unitarity) before anything is written.
#include "apps/command.h"
#include "apps/config.h"
#include "apps/ensemble_file.h"
#include "apps/h5io.h"
#include "apps/output.h"

#include "lattice/nersc.h"
#include "lattice/observables.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using nlohmann::json;

void run_convert(const CommonOptions& opt) {
  Config cfg = opt.config.empty() ? Config::from_json(json::object(), opt.overrides)
                                  : Config::load(opt.config, opt.overrides);
  auto n = cfg.child("nersc");
  L::NerscWriteOptions w;
  w.two_rows = n.get<bool>("two_rows", false);
  w.double_precision = n.get<std::string>("precision", "double", Check::one_of({"double", "single"})) == "double";
  w.ensemble_id = n.get<std::string>("ensemble_id", "blockspin");
  w.ensemble_label = n.get<std::string>("ensemble_label", "");
  const auto prefix = n.get<std::string>("file_prefix", "ckpoint_lat");
  cfg.check_unused();

  const fs::path in = opt.extra.at("in");
  const fs::path out = opt.out;
  if (!fs::exists(in)) throw OutputError("input '" + in.string() + "' does not exist");
  const bool from_hdf5 = fs::is_regular_file(in) && H5::H5File::isHdf5(in.string());
  if (from_hdf5) {
    const Ensemble e = read_ensemble(in);
    if (e.links.dim() != 8 || e.links.size(1) != 4 || e.links.size(-1) != 3)
      throw OutputError("NERSC files hold 4D SU(3) configurations; '" + in.string() + "' has links of shape " +
                        fmt::format("[{}]", fmt::join(e.links.sizes(), ", ")));
    prepare_output_dir(out, opt.force, false);
    const bool chains = e.chain.numel() > 0 && e.chain.max().item<int64_t>() > 0;
    for (int64_t i = 0; i < e.links.size(0); ++i) {
      auto opts = w;
      opts.sequence_number = e.trajectory[i].item<int64_t>();
      // Zero-padded, so that name order is (chain, trajectory) order when the directory is converted back.
      const auto file = out / (chains ? fmt::format("{}.c{:03d}.{:06d}", prefix, e.chain[i].item<int64_t>(),
                                                    opts.sequence_number)
                                      : fmt::format("{}.{:06d}", prefix, opts.sequence_number));
      L::write_nersc(file, e.links[i], opts);
    }
    fmt::print("wrote {} NERSC files to {}\n", e.links.size(0), out.string());
    return;
  }
  // NERSC -> HDF5: a single file or every regular file of a directory (sorted by name).
  std::vector<fs::path> files;
  if (fs::is_directory(in)) {
    for (const auto& entry : fs::directory_iterator(in))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(in);
  }
  if (files.empty()) throw OutputError("no files in '" + in.string() + "'");
  std::vector<torch::Tensor> links;
  std::vector<int64_t> seq;
  for (const auto& f : files) {
    L::NerscHeader h;
    try {
      links.push_back(L::read_nersc(f, &h));
    } catch (const L::NerscError& err) {
      throw OutputError(err.what());
    }
    auto it = h.fields.find("SEQUENCE_NUMBER");
    seq.push_back(it != h.fields.end() ? std::stoll(it->second) : static_cast<int64_t>(seq.size()));
    spdlog::info("read {} (plaquette {:.6f})", f.string(), h.plaquette);
  }
  prepare_output_dir(out, opt.force, false);
  Ensemble e;
  e.links = torch::cat(links);
  e.plaquette = L::average_plaquette(e.links).to(torch::kDouble);
  e.chain = torch::zeros({e.links.size(0)}, torch::kLong);
  e.trajectory = torch::tensor(seq, torch::kLong);
  e.config = {{"converted_from", in.string()}};
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
