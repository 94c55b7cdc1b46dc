// Byte order, link order, SU(3) check and SciDAC checksum shared by the gauge-file formats (see gauge_binary.h).
#include "io/gauge_binary.h"

#include "lattice/su_n.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <sstream>

namespace blockspin::io {

bool host_big_endian() {
  const uint32_t one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 0;
}

void swap_file_host(std::vector<unsigned char>& buf, int64_t width, bool file_big_endian) {
  if (file_big_endian == host_big_endian()) return;
  for (std::size_t i = 0; i + width <= buf.size(); i += width) std::reverse(buf.begin() + i, buf.begin() + i + width);
}

torch::Tensor links_from_stored(const torch::Tensor& reals, const std::vector<int64_t>& d, int64_t rows) {
  auto c = torch::view_as_complex(reals.reshape({d[3], d[2], d[1], d[0], 4, rows, 3, 2}));
  if (rows == 2) {
    auto a = c.select(-2, 0), b = c.select(-2, 1);
    auto e = [](const torch::Tensor& row, int64_t j) { return row.select(-1, j); };
    auto cross = torch::stack({e(a, 1) * e(b, 2) - e(a, 2) * e(b, 1), e(a, 2) * e(b, 0) - e(a, 0) * e(b, 2),
                               e(a, 0) * e(b, 1) - e(a, 1) * e(b, 0)},
                              -1);
    c = torch::cat({c, torch::conj_physical(cross).unsqueeze(-2)}, -2);
  }
  return c.permute({4, 3, 2, 1, 0, 5, 6}).contiguous().unsqueeze(0);
}

torch::Tensor stored_from_links(const torch::Tensor& U, int64_t rows, int64_t bytes_per_real) {
  auto f = U[0].permute({4, 3, 2, 1, 0, 5, 6}).narrow(-2, 0, rows).contiguous();
  return torch::view_as_real(f).to(bytes_per_real == 8 ? torch::kDouble : torch::kFloat).contiguous().reshape(-1);
}

std::optional<torch::Tensor> one_su3_configuration(const torch::Tensor& U_in) {
  auto U = U_in.dim() == 7 ? U_in.unsqueeze(0) : U_in;
  if (U.dim() != 8 || U.size(0) != 1 || U.size(1) != 4 || U.size(-1) != 3 || U.size(-2) != 3 || !U.is_complex())
    return std::nullopt;
  return U.to(torch::kCPU, torch::kComplexDouble);
}

double precision_tolerance(int64_t bytes_per_real) { return bytes_per_real == 8 ? 1e-10 : 1e-6; }

std::optional<std::string> su3_violation(const torch::Tensor& U, double tol) {
  auto v = lattice::su_n_violation(U).reshape(-1);  // index order [mu, x, y, z, t]
  const int64_t idx = v.argmax().item<int64_t>();
  const double worst = v[idx].item<double>();
  if (worst <= tol) return std::nullopt;
  int64_t c[5], rest = idx;
  for (int k = 4; k >= 0; --k) c[k] = rest % U.size(1 + k), rest /= U.size(1 + k);
  char value[64], bound[64];
  std::snprintf(value, sizeof value, "%.3e", worst);
  std::snprintf(bound, sizeof bound, "%.0e", tol);
  std::ostringstream os;
  os << "links are not in SU(3): worst link mu = " << c[0] << " at (x, y, z, t) = (" << c[1] << ", " << c[2] << ", "
     << c[3] << ", " << c[4] << ") has max(|U^dag U - 1|, |det U - 1|) = " << value << " > tolerance " << bound;
  return os.str();
}

namespace {
uint32_t rotl32(uint32_t v, int64_t s) {
  const int k = static_cast<int>(s % 32);
  return k == 0 ? v : (v << k) | (v >> (32 - k));
}
}  // namespace

ScidacChecksum scidac_checksum(const unsigned char* data, int64_t n_sites, int64_t site_bytes) {
  ScidacChecksum sum;
  for (int64_t r = 0; r < n_sites; ++r) {
    const auto crc = static_cast<uint32_t>(
        crc32_z(crc32_z(0L, Z_NULL, 0), data + r * site_bytes, static_cast<z_size_t>(site_bytes)));
    sum.a ^= rotl32(crc, r % 29);
    sum.b ^= rotl32(crc, r % 31);
  }
  return sum;
}

}  // namespace blockspin::io
