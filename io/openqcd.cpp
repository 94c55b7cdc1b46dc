// Reading and writing openQCD .cnfg gauge configurations (see openqcd.h).
#include "io/openqcd.h"

#include "io/gauge_binary.h"
#include "lattice/observables.h"
#include "support/atomic_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstring>
#include <fstream>

namespace blockspin::io {
namespace {

std::string openqcd_file(const std::filesystem::path& path) { return "openQCD file '" + path.string() + "': "; }

constexpr int64_t kHeaderBytes = 4 * 4 + 8;
constexpr int64_t kMatrixBytes = 9 * 2 * 8;

/// Reads `count` little-endian numbers of `width` bytes into host order.
std::vector<unsigned char> little_endian(const char* p, std::size_t bytes, int64_t width) {
  std::vector<unsigned char> v(p, p + bytes);
  swap_file_host(v, width, /*file_big_endian=*/false);
  return v;
}

/// Visits every odd point in file order with its 8 (point, direction) link slots: f(slot index, x, mu, backward).
template <class F>
void for_each_slot(const std::vector<int64_t>& n, F&& f) {
  int64_t slot = 0;
  int64_t x[4];
  for (x[0] = 0; x[0] < n[0]; ++x[0])
    for (x[1] = 0; x[1] < n[1]; ++x[1])
      for (x[2] = 0; x[2] < n[2]; ++x[2])
        for (x[3] = (x[0] + x[1] + x[2] + 1) % 2; x[3] < n[3]; x[3] += 2)
          for (int64_t mu = 0; mu < 4; ++mu) {
            f(slot++, x, mu, false);
            f(slot++, x, mu, true);
          }
}

/// Our links [1, 4, x, y, z, t, 3, 3] -> openQCD order [4 (mu_o), N0, N1, N2, N3, 3, 3] and back.
torch::Tensor to_openqcd_order(const torch::Tensor& U) {
  // our mu: 0..3 = x, y, z, t -> openQCD mu_o = (mu + 1) % 4; sites (x, y, z, t) -> (t, x, y, z)
  auto V = U[0].index_select(0, torch::tensor({3, 0, 1, 2}, torch::kLong));
  return V.permute({0, 4, 1, 2, 3, 5, 6}).contiguous();
}
torch::Tensor from_openqcd_order(const torch::Tensor& V) {
  auto U = V.permute({0, 2, 3, 4, 1, 5, 6});  // [mu_o, x, y, z, t]
  return U.index_select(0, torch::tensor({1, 2, 3, 0}, torch::kLong)).contiguous().unsqueeze(0);
}

int64_t flat_site(const std::vector<int64_t>& n, const int64_t* x) {
  return ((x[0] * n[1] + x[1]) * n[2] + x[2]) * n[3] + x[3];
}

}  // namespace

int64_t openqcd_file_bytes(const std::vector<int64_t>& n) {
  return kHeaderBytes + 4 * n[0] * n[1] * n[2] * n[3] * kMatrixBytes;
}

bool is_openqcd_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char h[kHeaderBytes];
  if (!in.read(h, kHeaderBytes)) return false;
  const auto v = little_endian(h, 16, 4);
  std::vector<int64_t> n(4);
  for (int k = 0; k < 4; ++k) {
    int32_t e = 0;
    std::memcpy(&e, v.data() + 4 * k, 4);
    if (e < 2 || e % 2 != 0 || e > 4096) return false;
    n[k] = e;
  }
  return static_cast<int64_t>(std::filesystem::file_size(path)) == openqcd_file_bytes(n);
}

void write_openqcd(const std::filesystem::path& path, const torch::Tensor& U_in) {
  const std::string w = openqcd_file(path);
  const auto one = one_su3_configuration(U_in);
  if (!one)
    throw OpenQcdError(fmt::format("{}openQCD files hold one 4D SU(3) configuration; got links of shape [{}]", w,
                                   fmt::join(U_in.sizes(), ", ")));
  const torch::Tensor& U = *one;
  if (auto bad = su3_violation(U, precision_tolerance(8))) throw OpenQcdError(w + "refusing to write: " + *bad);
  const auto V = to_openqcd_order(U);  // [4, N0, N1, N2, N3, 3, 3]
  const std::vector<int64_t> n{V.size(1), V.size(2), V.size(3), V.size(4)};
  for (auto e : n)
    if (e % 2 != 0) throw OpenQcdError(fmt::format("{}openQCD needs even extents; got {}", w, fmt::join(n, "x")));
  const int64_t volume = n[0] * n[1] * n[2] * n[3];
  const auto flat = V.reshape({4, volume, 9});
  auto data = torch::empty({4 * volume, 9}, torch::kComplexDouble);  // 4V matrices in file order
  auto* out = data.data_ptr<c10::complex<double>>();
  const auto* in = flat.data_ptr<c10::complex<double>>();
  for_each_slot(n, [&](int64_t slot, const int64_t* x, int64_t mu, bool backward) {
    int64_t y[4] = {x[0], x[1], x[2], x[3]};
    if (backward) y[mu] = (y[mu] - 1 + n[mu]) % n[mu];
    std::memcpy(out + 9 * slot, in + 9 * (mu * volume + flat_site(n, y)), 9 * sizeof(c10::complex<double>));
  });
  std::string bytes(static_cast<std::size_t>(openqcd_file_bytes(n)), '\0');
  std::vector<unsigned char> head(kHeaderBytes);
  for (int k = 0; k < 4; ++k) {
    const auto e = static_cast<int32_t>(n[k]);
    std::memcpy(head.data() + 4 * k, &e, 4);
  }
  swap_file_host(head, 4, false);  // the four ints
  const double plaq = 3.0 * lattice::average_plaquette(U).item<double>();
  std::vector<unsigned char> p(8);
  std::memcpy(p.data(), &plaq, 8);
  swap_file_host(p, 8, false);
  std::memcpy(head.data() + 16, p.data(), 8);
  std::memcpy(bytes.data(), head.data(), kHeaderBytes);
  std::vector<unsigned char> body(reinterpret_cast<const unsigned char*>(out),
                                  reinterpret_cast<const unsigned char*>(out) + 4 * volume * kMatrixBytes);
  swap_file_host(body, 8, false);
  std::memcpy(bytes.data() + kHeaderBytes, body.data(), body.size());
  support::write_file_atomic(path, bytes);
}

torch::Tensor read_openqcd(const std::filesystem::path& path, OpenQcdHeader* header, bool check) {
  const std::string w = openqcd_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw OpenQcdError(w + "cannot be opened");
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
  if (size < kHeaderBytes) throw OpenQcdError(fmt::format("{}{} bytes is shorter than the header", w, size));
  std::string raw(static_cast<std::size_t>(size), '\0');
  in.read(raw.data(), size);
  const auto h = little_endian(raw.data(), 16, 4);
  OpenQcdHeader hd;
  for (int k = 0; k < 4; ++k) {
    int32_t e = 0;
    std::memcpy(&e, h.data() + 4 * k, 4);
    if (e < 2 || e % 2 != 0)
      throw OpenQcdError(fmt::format("{}header extent N{} = {} (openQCD extents are even and >= 2)", w, k, e));
    hd.n.push_back(e);
  }
  const auto p = little_endian(raw.data() + 16, 8, 8);
  std::memcpy(&hd.plaquette, p.data(), 8);
  if (size != openqcd_file_bytes(hd.n))
    throw OpenQcdError(fmt::format("{}{} bytes; a {} lattice needs {} (truncated or not an openQCD file?)", w, size,
                                   fmt::join(hd.n, "x"), openqcd_file_bytes(hd.n)));
  const auto& n = hd.n;
  const int64_t volume = n[0] * n[1] * n[2] * n[3];
  auto body = little_endian(raw.data() + kHeaderBytes, static_cast<std::size_t>(4 * volume * kMatrixBytes), 8);
  auto V = torch::empty({4, volume, 9}, torch::kComplexDouble);
  auto* dst = V.data_ptr<c10::complex<double>>();
  const auto* src = reinterpret_cast<const c10::complex<double>*>(body.data());
  for_each_slot(n, [&](int64_t slot, const int64_t* x, int64_t mu, bool backward) {
    int64_t y[4] = {x[0], x[1], x[2], x[3]};
    if (backward) y[mu] = (y[mu] - 1 + n[mu]) % n[mu];
    std::memcpy(dst + 9 * (mu * volume + flat_site(n, y)), src + 9 * slot, 9 * sizeof(c10::complex<double>));
  });
  auto U = from_openqcd_order(V.reshape({4, n[0], n[1], n[2], n[3], 3, 3}));
  if (check) {
    if (auto bad = su3_violation(U, precision_tolerance(8))) throw OpenQcdError(w + *bad);
    const double plaq = 3.0 * lattice::average_plaquette(U).item<double>();
    if (!(std::abs(plaq - hd.plaquette) <= 1e-10))
      throw OpenQcdError(fmt::format(
          "{}header plaquette {:.12f} but the links give {:.12f} (openQCD's normalisation: <Re Tr P>, 3x ours{})", w,
          hd.plaquette, plaq,
          std::abs(plaq / 3.0 - hd.plaquette) <= 1e-10 ? "; the header holds the value divided by 3" : ""));
  }
  if (header != nullptr) *header = hd;
  return U;
}

}  // namespace blockspin::io
