// Gauge configurations in the community's file formats — NERSC (io/nersc.h), ILDG (io/ildg.h), openQCD
// (io/openqcd.h) — recognised by content (magic numbers / layout, never the file name), and a file or directory of
// them read as one ensemble.
#pragma once

#include "io/ensemble_file.h"

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace blockspin::io {

enum class GaugeFormat { hdf5, nersc, ildg, openqcd };

/// "hdf5", "nersc", "ildg", "openqcd".
std::string format_name(GaugeFormat f);
/// The inverse of format_name; std::invalid_argument for anything else.
GaugeFormat format_from_name(const std::string& name);

/// The format of the file at `path`, from its content: HDF5 signature, "BEGIN_HEADER" (NERSC), the LIME magic
/// number (ILDG), an openQCD header consistent with the file size. InputError naming the file for anything else.
GaugeFormat detect_gauge_format(const std::filesystem::path& path);

/// One configuration [1, 4, x, y, z, t, 3, 3] complex double from a NERSC, ILDG or openQCD file, with every check
/// of its reader (checksums, header plaquette, SU(3)).
torch::Tensor read_gauge_file(const std::filesystem::path& path, GaugeFormat format);

struct GaugeWriteOptions {
  bool double_precision = true;                           ///< NERSC and ILDG (openQCD is always double)
  bool nersc_two_rows = false;                            ///< NERSC DATATYPE 4D_SU3_GAUGE
  std::string ensemble_id = "blockspin", ensemble_label;  ///< NERSC header
  int64_t sequence_number = 0;                            ///< NERSC SEQUENCE_NUMBER
  std::string lfn;                                        ///< ILDG ildg-data-lfn (none when empty)
};

/// Writes one 4D SU(3) configuration in `format` (not hdf5), atomically.
void write_gauge_file(const std::filesystem::path& path, const torch::Tensor& U, GaugeFormat format,
                      const GaugeWriteOptions& options = {});

/// An HDF5 ensemble, or a gauge file, or a directory of gauge files (read in name order; any mix of the formats, one
/// lattice): chain and trajectory from names PREFIX.cCCC.TTTTTT (as `convert` writes them), otherwise chain 0 and the
/// file's position (NERSC: its SEQUENCE_NUMBER); plaquette recomputed; config {"converted_from": path}. A foreign
/// file or another lattice size is an InputError naming the file.
Ensemble read_any_ensemble(const std::filesystem::path& path);

}  // namespace blockspin::io
