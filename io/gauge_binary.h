// Shared by the binary gauge-file formats (NERSC, ILDG, openQCD): byte order, the "site-major" link order of NERSC
// and ILDG data, the SU(3) check of links read from a file, and the SciDAC checksum.
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace blockspin::io {

bool host_big_endian();

/// Converts between file and host byte order (an involution): reverses every `width`-byte number if they differ.
void swap_file_host(std::vector<unsigned char>& buf, int64_t width, bool file_big_endian);

/// Site-major stored numbers (double; order [t, z, y, x, mu, rows, 3, re/im], x fastest: NERSC and ILDG) -> links
/// [1, 4, x, y, z, t, 3, 3] complex double, d = (x, y, z, t) extents; with two rows, row 2 = conj(row 0 x row 1).
torch::Tensor links_from_stored(const torch::Tensor& reals, const std::vector<int64_t>& d, int64_t rows);

/// Links [1, 4, x, y, z, t, 3, 3] complex double -> the stored numbers in site-major order, as float or double.
torch::Tensor stored_from_links(const torch::Tensor& U, int64_t rows, int64_t bytes_per_real);

/// U as one 4D SU(3) configuration [1, 4, x, y, z, t, 3, 3] complex double on the CPU (from [4, ...] or [1, 4, ...]
/// of any complex dtype/device); nullopt when U is something else (the writers' shape check).
std::optional<torch::Tensor> one_su3_configuration(const torch::Tensor& U);

/// The largest deviation from SU(3) a link read from `bytes_per_real`-byte data may have: 1e-10 (64-bit), 1e-6.
double precision_tolerance(int64_t bytes_per_real);

/// nullopt when every link of U [1, 4, x, y, z, t, 3, 3] is in SU(3) within `tol`; otherwise a message naming the
/// worst link ("links are not in SU(3): worst link mu = ... at (x, y, z, t) = (...) has ...").
std::optional<std::string> su3_violation(const torch::Tensor& U, double tol);

/// The SciDAC checksum (QIO, used by ILDG files): for the site of lexicographic rank r (x fastest) with the bytes
/// `site_bytes` bytes at data + r * site_bytes, c = CRC32 of those bytes; suma ^= rotl32(c, r mod 29),
/// sumb ^= rotl32(c, r mod 31). The bytes are taken as given: callers pass host-order (little-endian) data, as
/// QIO, Grid and PyQUDA checksum the data in memory, not the big-endian file bytes.
struct ScidacChecksum {
  uint32_t a = 0, b = 0;
};
ScidacChecksum scidac_checksum(const unsigned char* data, int64_t n_sites, int64_t site_bytes);

}  // namespace blockspin::io
