// openQCD gauge configurations (`.cnfg`, openQCD's export_cnfg/import_cnfg in modules/archive/archive.c; read by
// openQCD, Grid's OpenQcdIO, PyQUDA): little-endian throughout.
//   header  4 x int32 N0, N1, N2, N3 (N0 = time), then one double: the average plaquette as openQCD defines it,
//           Σ_p Re Tr U(p) / (6 N0 N1 N2 N3) — NOT divided by N = 3 (ours, lattice/observables.h, is; the header is
//           3x ours)
//   links   for x0, x1, x2 (slowest first) and the odd points along x3 (x0+x1+x2+x3 odd, increasing x3): the 8 links
//           U(x, 0), U(x-0̂, 0), U(x, 1), U(x-1̂, 1), U(x, 2), U(x-2̂, 2), U(x, 3), U(x-3̂, 3) — every link of the
//           lattice once; each a 3x3 matrix row-major, entries (re, im) as doubles
// openQCD's (x0, x1, x2, x3) = our (t, x, y, z) = (x_3, x_0, x_1, x_2), its direction 0 our 3, its k our k - 1.
// Periodic configurations only (open boundaries store zero links at the time boundary: refused as non-SU(3)); all
// extents even, as openQCD requires.
#pragma once

#include "support/errors.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace blockspin::io {

/// A malformed or inconsistent openQCD file (exit status 4).
struct OpenQcdError : support::InputError {
  using support::InputError::InputError;
};

struct OpenQcdHeader {
  std::vector<int64_t> n;  ///< N0 (time), N1, N2, N3 as in the file
  double plaquette = 0;    ///< as stored (openQCD's normalisation, see above)
};

/// Bytes of a file with these extents: 24 + 576 N0 N1 N2 N3.
int64_t openqcd_file_bytes(const std::vector<int64_t>& n);

/// True when the file's header gives four positive even extents whose data size is exactly the file's size (the
/// format has no magic number).
bool is_openqcd_file(const std::filesystem::path& path);

/// Writes one SU(3) 4D configuration U ([4, x, y, z, t, 3, 3] or [1, ...]; even extents) atomically, with the
/// header plaquette of the stored data.
void write_openqcd(const std::filesystem::path& path, const torch::Tensor& U);

/// Reads [1, 4, x, y, z, t, 3, 3] complex double. Always: header and size consistent. With `check` also SU(3) of
/// every link (1e-10) and the header plaquette against the links' (absolute 1e-10 in openQCD's normalisation).
torch::Tensor read_openqcd(const std::filesystem::path& path, OpenQcdHeader* header = nullptr, bool check = true);

}  // namespace blockspin::io
