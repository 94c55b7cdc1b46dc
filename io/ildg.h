// ILDG gauge configurations (International Lattice Data Grid; read by Grid, Chroma, QUDA/PyQUDA, openQCD tools,
// Gaugefields.jl): a LIME file (io/lime.h) with the records
//   ildg-format       XML <ildgFormat> with <field>su3gauge</field>, <precision>64|32</precision>, <lx>..<lt>
//   ildg-binary-data  the links, big-endian IEEE: sites with x fastest, then y, z, t; per site mu = x, y, z, t; per
//                     link the 3x3 matrix row-major, each entry (re, im) — the NERSC 3x3 order
//   scidac-checksum   XML <scidacChecksum> with <suma>, <sumb> (lower-case hex): gauge_binary.h's SciDAC checksum
//                     over the site data in host (little-endian) byte order, as QIO, Grid and PyQUDA compute it
//   ildg-data-lfn     the logical file name (optional)
// We write one message: ildg-format (MB), ildg-binary-data, scidac-checksum, [ildg-data-lfn] (ME). Readers find
// records by type, wherever they are (SciDAC private/user XML records of other writers are ignored). SU(3) in 4D only,
// as the format defines it; in our layout x_0 = x (lx), ..., x_3 = t (lt).
#pragma once

#include "io/gauge_binary.h"
#include "io/lime.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace blockspin::io {

struct IldgInfo {
  std::vector<int64_t> dims;  ///< lx, ly, lz, lt
  int64_t precision = 64;     ///< 64 or 32 bits per real
  std::optional<ScidacChecksum> checksum;
  std::string lfn;  ///< ildg-data-lfn, empty when absent
};

struct IldgWriteOptions {
  bool double_precision = true;
  std::string lfn;  ///< written as ildg-data-lfn when non-empty
};

/// Writes one SU(3) 4D configuration U ([4, x, y, z, t, 3, 3] or [1, ...]; any complex dtype/device) atomically.
/// LimeError for other shapes or groups, or links that would not pass read_ildg's SU(3) check once stored.
void write_ildg(const std::filesystem::path& path, const torch::Tensor& U, const IldgWriteOptions& options = {});

/// Reads [1, 4, x, y, z, t, 3, 3] complex double. Always: the ildg-format and ildg-binary-data records exist, the
/// field is su3gauge, the precision 32 or 64, the data size matches the dimensions. With `check` also the SciDAC
/// checksum (when the file has one) and SU(3) of every link (1e-10 for 64-bit data, 1e-6 for 32-bit). LimeError
/// naming the file and what is wrong.
torch::Tensor read_ildg(const std::filesystem::path& path, IldgInfo* info = nullptr, bool check = true);

}  // namespace blockspin::io
