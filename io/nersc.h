// NERSC gauge-configuration archive format (read by Grid, MILC, Chroma, CPS, QLUA, openQCD tools): SU(3), D = 4.
//
// File = ASCII header + binary data. The header is "BEGIN_HEADER\n", lines "KEY = VALUE\n", "END_HEADER\n";
// the data start right after the END_HEADER line. Keys: HDR_VERSION, DATATYPE, STORAGE_FORMAT, DIMENSION_1..4,
// LINK_TRACE, PLAQUETTE, BOUNDARY_1..4, CHECKSUM, ENSEMBLE_ID, ENSEMBLE_LABEL, SEQUENCE_NUMBER, CREATOR,
// CREATOR_HARDWARE, CREATION_DATE, ARCHIVE_DATE, FLOATING_POINT (SCIDAC_CHECKSUMA/B may be present and are kept
// but not checked).
//
// Data order: sites with x = DIMENSION_1 fastest, then y, z, t; per site the links mu = x, y, z, t; per link the
// matrix row-major, each complex number as (re, im). DATATYPE 4D_SU3_GAUGE_3x3 stores all 3 rows,
// 4D_SU3_GAUGE only rows 0 and 1 (row 2 = complex conjugate of row0 x row1). FLOATING_POINT IEEE64BIG / IEEE32BIG
// (big-endian doubles / floats); read also IEEE64LITTLE / IEEE32LITTLE and the historical IEEE64 / IEEE32, which
// CPS, QLUA and SIMULATeQCD take as big-endian and Grid as little-endian (we take big-endian unless only the
// little-endian reading matches the checksum). In our layout x_0 = x (DIMENSION_1), ..., x_3 = t (DIMENSION_4).
//
// CHECKSUM (lower-case hex): the sum modulo 2^32 of the data section read as unsigned 32-bit words in the file's
// byte order, i.e. of the IEEE bit patterns of the stored numbers (a 64-bit number contributes its high and its
// low 32-bit half; only the stored rows count). This is what Grid (BinaryIO::NerscChecksum on host-order data),
// CPS (FPConv::checksum), MILC (nersc_cksum) and PyQUDA (checksum_nersc) compute.
// PLAQUETTE = average over sites and the 6 planes of (1/3) Re Tr P; LINK_TRACE = average over links of (1/3) Re Tr U.
#pragma once

#include "support/errors.h"

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace blockspin::io {

/// A malformed, inconsistent or non-SU(3) NERSC file or input (an input-file error: exit status 4); failures of the
/// write itself are support::OutputError.
struct NerscError : support::InputError {
  using support::InputError::InputError;
};

/// A parsed NERSC header.
struct NerscHeader {
  std::map<std::string, std::string> fields;  ///< every KEY = VALUE line, values trimmed
  std::vector<int64_t> dims;                  ///< DIMENSION_1..4 = extents (x, y, z, t)
  std::string datatype, floating_point;       ///< as in the file
  uint32_t checksum = 0;                      ///< CHECKSUM
  double plaquette = 0, link_trace = 0;       ///< PLAQUETTE, LINK_TRACE
  int64_t rows = 3;                           ///< stored rows per matrix: 3 (4D_SU3_GAUGE_3x3) or 2 (4D_SU3_GAUGE)
  int64_t bytes_per_real = 8;                 ///< 8 (IEEE64*) or 4 (IEEE32*)
  bool big_endian = true;                     ///< byte order of the data (after resolving IEEE32 / IEEE64)
  int64_t data_offset = 0;                    ///< byte offset of the binary data in the file
  /// Size in bytes the data section must have: volume * 4 * rows * 3 * 2 * bytes_per_real.
  int64_t data_bytes() const;
};

struct NerscWriteOptions {
  bool two_rows = false;         ///< DATATYPE 4D_SU3_GAUGE (2 rows) instead of 4D_SU3_GAUGE_3x3
  bool double_precision = true;  ///< IEEE64BIG instead of IEEE32BIG
  std::string ensemble_id = "blockspin";
  std::string ensemble_label = "";
  int64_t sequence_number = 0;
  std::string creator = "blockspin";
};

/// Write one SU(3) 4D configuration U ([4, x, y, z, t, 3, 3] or [1, 4, x, y, z, t, 3, 3], any complex
/// dtype/device; converted on CPU). Atomic (support::write_file_atomic). Throws NerscError for
/// non-4D / non-SU(3) input, including links that would fail read_nersc's SU(3) check once stored (for example
/// complex64 links written with double_precision = true). PLAQUETTE and LINK_TRACE are those of the stored data.
void write_nersc(const std::filesystem::path& path, const torch::Tensor& U, const NerscWriteOptions& opt = {});

/// Read: returns [1, 4, x, y, z, t, 3, 3] kComplexDouble. Always checks that the header is well formed and the
/// data section has exactly header.data_bytes() bytes. With `check` also: CHECKSUM, links in SU(3) (max of
/// |U†U - 1| and |det U - 1| at most 1e-6 for 32-bit, 1e-10 for 64-bit data), LINK_TRACE and PLAQUETTE equal to
/// the recomputed values within an absolute tolerance max(floor, min(1e-6, unit of the last decimal written in
/// the header)), floor = 1e-6 for 32-bit and 1e-10 for 64-bit data. Failures throw NerscError.
torch::Tensor read_nersc(const std::filesystem::path& path, NerscHeader* header = nullptr, bool check = true);

/// Parse only the header (for `blockspin convert` to inspect files).
NerscHeader read_nersc_header(const std::filesystem::path& path);

/// The NERSC checksum of a data section: sum mod 2^32 of its unsigned 32-bit words, each word read big-endian
/// (`big_endian`) or little-endian from the bytes. `n_bytes` must be a multiple of 4.
uint32_t nersc_checksum(const void* data, std::size_t n_bytes, bool big_endian);

/// LINK_TRACE of a gauge field [1, 4, x.., 3, 3]: average over all links of (1/3) Re Tr U.
double nersc_link_trace(const torch::Tensor& U);

}  // namespace blockspin::io
