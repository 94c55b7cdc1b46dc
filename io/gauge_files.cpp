// Format detection and the ensemble view of gauge files (see gauge_files.h).
#include "io/gauge_files.h"

#include "io/ildg.h"
#include "io/lime.h"
#include "io/nersc.h"
#include "io/openqcd.h"
#include "lattice/observables.h"
#include "support/errors.h"

#include <H5Cpp.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <stdexcept>

namespace blockspin::io {

namespace fs = std::filesystem;

std::string format_name(GaugeFormat f) {
  switch (f) {
    case GaugeFormat::hdf5:
      return "hdf5";
    case GaugeFormat::nersc:
      return "nersc";
    case GaugeFormat::ildg:
      return "ildg";
    case GaugeFormat::openqcd:
      return "openqcd";
  }
  return "?";
}

GaugeFormat format_from_name(const std::string& name) {
  for (auto f : {GaugeFormat::hdf5, GaugeFormat::nersc, GaugeFormat::ildg, GaugeFormat::openqcd})
    if (format_name(f) == name) return f;
  throw std::invalid_argument("unknown gauge-file format '" + name + "' (expected hdf5, nersc, ildg or openqcd)");
}

GaugeFormat detect_gauge_format(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw support::InputError("'" + path.string() + "' is not a file");
  if (H5::H5File::isHdf5(path.string())) return GaugeFormat::hdf5;
  {
    std::ifstream in(path, std::ios::binary);
    std::string first(12, '\0');
    in.read(first.data(), 12);
    if (first == "BEGIN_HEADER") return GaugeFormat::nersc;
  }
  if (is_lime_file(path)) return GaugeFormat::ildg;
  if (is_openqcd_file(path)) return GaugeFormat::openqcd;
  throw support::InputError("'" + path.string() +
                            "' is not a gauge configuration file this version reads (HDF5 ensemble, NERSC, ILDG/LIME, "
                            "openQCD)");
}

torch::Tensor read_gauge_file(const fs::path& path, GaugeFormat format) {
  switch (format) {
    case GaugeFormat::nersc:
      return read_nersc(path);
    case GaugeFormat::ildg:
      return read_ildg(path);
    case GaugeFormat::openqcd:
      return read_openqcd(path);
    case GaugeFormat::hdf5:
      break;
  }
  throw std::invalid_argument("read_gauge_file: '" + path.string() + "' is an HDF5 file (use read_ensemble)");
}

void write_gauge_file(const fs::path& path, const torch::Tensor& U, GaugeFormat format, const GaugeWriteOptions& o) {
  switch (format) {
    case GaugeFormat::nersc: {
      NerscWriteOptions n;
      n.two_rows = o.nersc_two_rows;
      n.double_precision = o.double_precision;
      n.ensemble_id = o.ensemble_id;
      n.ensemble_label = o.ensemble_label;
      n.sequence_number = o.sequence_number;
      return write_nersc(path, U, n);
    }
    case GaugeFormat::ildg:
      return write_ildg(path, U, {o.double_precision, o.lfn});
    case GaugeFormat::openqcd:
      return write_openqcd(path, U);
    case GaugeFormat::hdf5:
      break;
  }
  throw std::invalid_argument("write_gauge_file: hdf5 is not a per-configuration format (use write_ensemble)");
}

Ensemble read_any_ensemble(const fs::path& in) {
  if (!fs::exists(in)) throw support::InputError("input '" + in.string() + "' does not exist");
  if (fs::is_regular_file(in) && detect_gauge_format(in) == GaugeFormat::hdf5) return read_ensemble(in);
  std::vector<fs::path> files;
  if (fs::is_directory(in)) {
    for (const auto& entry : fs::directory_iterator(in))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(in);
  }
  if (files.empty()) throw support::InputError("no files in '" + in.string() + "'");
  static const std::regex chain_name(R"(.*\.c([0-9]+)\.([0-9]+)$)");
  std::vector<torch::Tensor> links;
  std::vector<int64_t> seq, chain;
  for (const auto& f : files) {
    GaugeFormat format;
    try {
      format = detect_gauge_format(f);
    } catch (const support::InputError&) {
      throw support::InputError(
          fmt::format("'{}' in '{}' is not a NERSC, ILDG or openQCD file; move foreign files "
                      "out of the directory",
                      f.filename().string(), in.string()));
    }
    if (format == GaugeFormat::hdf5)
      throw support::InputError(
          fmt::format("'{}' in '{}' is an HDF5 file: convert reads one ensemble file, or a "
                      "directory of NERSC, ILDG or openQCD files",
                      f.filename().string(), in.string()));
    NerscHeader header;
    links.push_back(format == GaugeFormat::nersc ? read_nersc(f, &header) : read_gauge_file(f, format));
    if (links.size() > 1 && links.back().sizes() != links.front().sizes())
      throw support::InputError(fmt::format("'{}' holds a {} lattice, '{}' a {} lattice: one ensemble needs one size",
                                            f.string(), fmt::join(links.back().sizes().slice(2, 4), "x"),
                                            files.front().string(), fmt::join(links.front().sizes().slice(2, 4), "x")));
    std::smatch m;
    const std::string name = f.filename().string();
    if (std::regex_match(name, m, chain_name)) {
      chain.push_back(std::stoll(m[1].str()));
      seq.push_back(std::stoll(m[2].str()));
    } else {
      int64_t n = static_cast<int64_t>(seq.size());
      if (format == GaugeFormat::nersc) {
        auto it = header.fields.find("SEQUENCE_NUMBER");
        if (it != header.fields.end()) {
          try {
            n = std::stoll(it->second);
          } catch (const std::exception&) {
            throw support::InputError(fmt::format("'{}': SEQUENCE_NUMBER '{}' is not an integer", f.string(),
                                                  support::abbreviate(it->second, 40)));
          }
        }
      }
      chain.push_back(0);
      seq.push_back(n);
    }
  }
  Ensemble e;
  e.links = torch::cat(links);
  e.plaquette = lattice::average_plaquette(e.links).to(torch::kDouble);
  e.chain = torch::tensor(chain, torch::kLong);
  e.trajectory = torch::tensor(seq, torch::kLong);
  e.config = {{"converted_from", in.string()}};
  return e;
}

}  // namespace blockspin::io
