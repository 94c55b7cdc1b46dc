// Tests of NERSC gauge-file I/O: round trips, hand-encoded files (ordering, byte order), checksums, header checks.
#include "lattice/test_helpers.h"

#include "io_test_helpers.h"

#include "io/nersc.h"
#include "lattice/observables.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

using namespace blockspin::lattice;
using namespace blockspin::io;
using namespace blockspin::lattice::testing;
using namespace blockspin::io::testing;
namespace fs = std::filesystem;

namespace {

std::string hex(uint32_t v, const char* fmt = "%x") {
  char buf[16];
  std::snprintf(buf, sizeof buf, fmt, static_cast<unsigned>(v));
  return buf;
}

/// Replaces the whole header line starting with `key` (e.g. "PLAQUETTE") by `line` (empty: removes it).
std::string replace_line(std::string file, const std::string& key, const std::string& line) {
  const auto at = file.find("\n" + key) + 1;
  const auto end = file.find('\n', at) + 1;
  return file.replace(at, end - at, line.empty() ? "" : line + "\n");
}

template <class F>
void expect_nersc_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no NerscError; expected one mentioning '" << needle << "'";
  } catch (const NerscError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

/// Test-local checksum: 32-bit words in the given byte order, summed modulo 2^32.
uint32_t word_sum(const std::string& data, bool big) {
  uint32_t s = 0;
  for (std::size_t i = 0; i + 4 <= data.size(); i += 4) {
    uint32_t w = 0;
    for (int k = 0; k < 4; ++k) w |= uint32_t(static_cast<unsigned char>(data[i + k])) << (big ? 24 - 8 * k : 8 * k);
    s += w;
  }
  return s;
}

/// Appends v as an IEEE number of `bytes` bytes in the given byte order (independent of the host's).
void put(std::string& out, double v, int bytes, bool big) {
  uint64_t bits = 0;
  if (bytes == 8) {
    std::memcpy(&bits, &v, 8);
  } else {
    const float f = static_cast<float>(v);
    uint32_t b32 = 0;
    std::memcpy(&b32, &f, 4);
    bits = b32;
  }
  for (int k = 0; k < bytes; ++k) out.push_back(static_cast<char>(bits >> 8 * (big ? bytes - 1 - k : k) & 0xff));
}

struct Encoding {
  int64_t rows;
  int bytes;
  bool big;
  std::string floating_point;
};
void PrintTo(const Encoding& e, std::ostream* os) { *os << e.floating_point << " rows=" << e.rows; }

/// A NERSC file encoded by hand (no write_nersc): data in t, z, y, x, mu, row, col, (re, im) order.
std::string encode(const torch::Tensor& U, const Encoding& e) {
  auto a = U.accessor<c10::complex<double>, 8>();
  const int64_t X = U.size(2), Y = U.size(3), Z = U.size(4), T = U.size(5);
  std::string data;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t z = 0; z < Z; ++z)
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t x = 0; x < X; ++x)
          for (int64_t mu = 0; mu < 4; ++mu)
            for (int64_t r = 0; r < e.rows; ++r)
              for (int64_t c = 0; c < 3; ++c) {
                put(data, a[0][mu][x][y][z][t][r][c].real(), e.bytes, e.big);
                put(data, a[0][mu][x][y][z][t][r][c].imag(), e.bytes, e.big);
              }
  double trace = 0;
  for (int64_t mu = 0; mu < 4; ++mu)
    for (int64_t x = 0; x < X; ++x)
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t z = 0; z < Z; ++z)
          for (int64_t t = 0; t < T; ++t)
            for (int64_t i = 0; i < 3; ++i) trace += a[0][mu][x][y][z][t][i][i].real();
  char plaq[64], tr[64];
  std::snprintf(plaq, sizeof plaq, "%.12f", average_plaquette(U)[0].item<double>());
  std::snprintf(tr, sizeof tr, "%.12f", trace / (3.0 * 4 * X * Y * Z * T));
  std::ostringstream h;
  h << "BEGIN_HEADER\nHDR_VERSION = 1.0\nDATATYPE = " << (e.rows == 3 ? "4D_SU3_GAUGE_3x3" : "4D_SU3_GAUGE")
    << "\nSTORAGE_FORMAT = 1.0\nDIMENSION_1 = " << X << "\nDIMENSION_2 = " << Y << "\nDIMENSION_3 = " << Z
    << "\nDIMENSION_4 = " << T << "\nLINK_TRACE = " << tr << "\nPLAQUETTE  = " << plaq
    << "\nCHECKSUM = " << hex(word_sum(data, e.big), "%10x") << "\nFLOATING_POINT = " << e.floating_point
    << "\nEND_HEADER\n";
  return h.str() + data;
}

/// A configuration on 2x3x1x2 whose every link is a distinct, non-symmetric SU(3) matrix:
/// U = diag(e^{ia}, e^{ib}, e^{-i(a+b)}) · (cyclic permutation), so U_01 = e^{ia}, U_12 = e^{ib}, U_20 = e^{-i(a+b)}.
torch::Tensor labelled_links() {
  auto U = torch::zeros({1, 4, 2, 3, 1, 2, 3, 3}, cpu_cplx());
  auto acc = U.accessor<c10::complex<double>, 8>();
  for (int64_t mu = 0; mu < 4; ++mu)
    for (int64_t x = 0; x < 2; ++x)
      for (int64_t y = 0; y < 3; ++y)
        for (int64_t t = 0; t < 2; ++t) {
          const double idx = static_cast<double>(mu + 4 * (x + 2 * (y + 3 * t)));
          const double a = 0.1 + 0.37 * idx, b = -0.25 + 0.11 * idx;
          acc[0][mu][x][y][0][t][0][1] = c10::complex<double>(std::cos(a), std::sin(a));
          acc[0][mu][x][y][0][t][1][2] = c10::complex<double>(std::cos(b), std::sin(b));
          acc[0][mu][x][y][0][t][2][0] = c10::complex<double>(std::cos(a + b), -std::sin(a + b));
        }
  return U;
}

torch::Tensor hot_config(uint64_t seed) {
  auto gen = make_generator(seed);
  return hot_gauge_field(1, {4, 3, 4, 5}, 3, gen, cpu_cplx());  // non-hypercubic: pins the x-fastest order
}

}  // namespace

class NerscRoundTrip : public ::testing::TestWithParam<std::pair<bool, bool>> {};  // (two_rows, double_precision)

TEST_P(NerscRoundTrip, RandomConfiguration) {
  const auto [two_rows, dbl] = GetParam();
  TempDir dir;
  auto U = hot_config(11);
  NerscWriteOptions opt;
  opt.two_rows = two_rows;
  opt.double_precision = dbl;
  opt.sequence_number = 42;
  write_nersc(dir.path / "cfg", U[0], opt);  // the unbatched form [4, x, y, z, t, 3, 3]
  NerscHeader h;
  auto V = read_nersc(dir.path / "cfg", &h);
  ASSERT_EQ(V.sizes(), U.sizes());
  EXPECT_EQ(V.scalar_type(), torch::kComplexDouble);
  EXPECT_LT(max_abs_diff(V, U), dbl ? 1e-15 : 1e-6);
  if (!dbl) {
    EXPECT_GT(max_abs_diff(V, U), 1e-10);  // really stored as 32-bit
  }

  EXPECT_EQ(h.dims, (std::vector<int64_t>{4, 3, 4, 5}));
  EXPECT_EQ(h.datatype, two_rows ? "4D_SU3_GAUGE" : "4D_SU3_GAUGE_3x3");
  EXPECT_EQ(h.floating_point, dbl ? "IEEE64BIG" : "IEEE32BIG");
  EXPECT_EQ(h.fields.at("SEQUENCE_NUMBER"), "42");
  EXPECT_NEAR(h.plaquette, average_plaquette(U)[0].item<double>(), dbl ? 1e-10 : 1e-6);
  EXPECT_NEAR(h.link_trace, torch::real(U.diagonal(0, -2, -1).sum(-1)).mean().item<double>() / 3.0, dbl ? 1e-10 : 1e-6);
  const std::string file = slurp(dir.path / "cfg");
  const int64_t bytes = 4 * 3 * 4 * 5 * 4 * (two_rows ? 2 : 3) * 6 * (dbl ? 8 : 4);
  ASSERT_EQ(static_cast<int64_t>(file.size()), h.data_offset + bytes);
  EXPECT_EQ(h.checksum, word_sum(file.substr(h.data_offset), true));
  EXPECT_EQ(file.substr(h.data_offset - 11, 11), "END_HEADER\n");
}

INSTANTIATE_TEST_SUITE_P(Formats, NerscRoundTrip,
                         ::testing::Values(std::pair{false, true}, std::pair{true, true}, std::pair{false, false},
                                           std::pair{true, false}));

class NerscHandEncoded : public ::testing::TestWithParam<Encoding> {};

TEST_P(NerscHandEncoded, LinksLandAtTheirPositions) {
  const Encoding e = GetParam();
  auto U = labelled_links();
  if (e.bytes == 4) U = U.to(torch::kComplexFloat).to(torch::kComplexDouble);  // what the file can hold
  TempDir dir;
  dump(dir.path / "hand", encode(U, e));
  NerscHeader h;
  auto V = read_nersc(dir.path / "hand", &h);
  ASSERT_EQ(V.sizes(), U.sizes());
  EXPECT_LT(max_abs_diff(V.narrow(-2, 0, e.rows), U.narrow(-2, 0, e.rows)), 1e-15);
  EXPECT_LT(max_abs_diff(V, U), e.bytes == 8 ? 1e-14 : 1e-6);  // row 2 reconstructed for two-row files
  EXPECT_EQ(h.dims, (std::vector<int64_t>{2, 3, 1, 2}));
  EXPECT_EQ(h.big_endian, e.big);
  // One link spelled out: mu = 2 at (x, y, z, t) = (1, 2, 0, 1) has index 2 + 4 * (1 + 2 * (2 + 3 * 1)) = 46.
  const double a = 0.1 + 0.37 * 46;
  const auto u = V[0][2][1][2][0][1][0][1].item<c10::complex<double>>();
  EXPECT_NEAR(u.real(), std::cos(a), e.bytes == 8 ? 1e-15 : 1e-7);
  EXPECT_NEAR(u.imag(), std::sin(a), e.bytes == 8 ? 1e-15 : 1e-7);
}

INSTANTIATE_TEST_SUITE_P(ByteOrders, NerscHandEncoded,
                         ::testing::Values(Encoding{3, 8, true, "IEEE64BIG"}, Encoding{2, 8, true, "IEEE64BIG"},
                                           Encoding{3, 4, true, "IEEE32BIG"}, Encoding{2, 4, true, "IEEE32BIG"},
                                           Encoding{3, 8, false, "IEEE64LITTLE"}, Encoding{2, 4, false, "IEEE32LITTLE"},
                                           Encoding{3, 8, true, "IEEE64"},
                                           Encoding{3, 4, false, "IEEE32"}),  // Grid's little-endian IEEE32
                         [](const ::testing::TestParamInfo<Encoding>& info) {
                           return info.param.floating_point + (info.param.rows == 2 ? "_two_rows" : "_3x3") + "_" +
                                  std::to_string(info.index);
                         });

TEST(NerscFile, ColdConfigurationHeaderAndChecksum) {
  TempDir dir;
  auto U = cold_gauge_field(1, {2, 3, 4, 5}, 3, cpu_cplx());
  const uint64_t links = 4 * 2 * 3 * 4 * 5;
  // (rows, 64-bit, 1.0 as 32-bit words summed) -> checksum = links * ones per link * (word sum of 1.0) mod 2^32
  for (auto [two_rows, dbl] : std::vector<std::pair<bool, bool>>{{false, true}, {true, true}, {false, false}}) {
    NerscWriteOptions opt;
    opt.two_rows = two_rows;
    opt.double_precision = dbl;
    write_nersc(dir.path / "cold", U, opt);
    const std::string file = slurp(dir.path / "cold");
    EXPECT_NE(file.find("\nPLAQUETTE = 1.000000"), std::string::npos);
    EXPECT_NE(file.find("\nLINK_TRACE = 1.000000"), std::string::npos);
    const uint64_t one_words = dbl ? 0x3FF00000u + 0x0u : 0x3F800000u;  // 1.0 = 0x3FF0000000000000 / 0x3F800000
    const auto expected = static_cast<uint32_t>(links * (two_rows ? 2 : 3) * one_words & 0xffffffffu);
    EXPECT_NE(file.find("\nCHECKSUM = " + hex(expected) + "\n"), std::string::npos) << hex(expected);
    NerscHeader h;
    auto V = read_nersc(dir.path / "cold", &h);
    EXPECT_EQ(h.checksum, expected);
    EXPECT_EQ(h.plaquette, 1.0);
    EXPECT_EQ(h.link_trace, 1.0);
    EXPECT_EQ(max_abs_diff(V, U), 0.0);
    // The first stored number is U_x(0)_00 = 1.0, big-endian.
    const std::string first = file.substr(h.data_offset, dbl ? 8 : 4);
    EXPECT_EQ(first, dbl ? std::string("\x3f\xf0\0\0\0\0\0\0", 8) : std::string("\x3f\x80\0\0", 4));
  }
}

TEST(NerscFile, HeaderFieldsAndAtomicOverwrite) {
  TempDir dir;
  NerscWriteOptions opt;
  opt.ensemble_id = "test-ensemble";
  opt.ensemble_label = "label with spaces";
  opt.creator = "gtest";
  write_nersc(dir.path / "cfg", cold_gauge_field(1, {2, 2, 2, 2}, 3, cpu_cplx()), opt);
  write_nersc(dir.path / "cfg", hot_config(3), opt);  // overwrites in place
  auto h = read_nersc_header(dir.path / "cfg");
  EXPECT_EQ(h.dims, (std::vector<int64_t>{4, 3, 4, 5}));
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{{"HDR_VERSION", "1.0"},
                                                                            {"ENSEMBLE_ID", "test-ensemble"},
                                                                            {"ENSEMBLE_LABEL", "label with spaces"},
                                                                            {"CREATOR", "gtest"},
                                                                            {"BOUNDARY_1", "PERIODIC"},
                                                                            {"BOUNDARY_4", "PERIODIC"},
                                                                            {"SEQUENCE_NUMBER", "0"}})
    EXPECT_EQ(h.fields.at(key), value) << key;
  for (auto key : {"STORAGE_FORMAT", "CREATOR_HARDWARE", "CREATION_DATE", "ARCHIVE_DATE"})
    EXPECT_TRUE(h.fields.count(key)) << key;
  EXPECT_LT(max_abs_diff(read_nersc(dir.path / "cfg"), hot_config(3)), 1e-15);
  int entries = 0;
  for ([[maybe_unused]] auto& entry : fs::directory_iterator(dir.path)) ++entries;
  EXPECT_EQ(entries, 1);  // no temporary files left behind
}

TEST(NerscErrors, CorruptedFilesAreRejected) {
  TempDir dir;
  const fs::path p = dir.path / "cfg";
  write_nersc(p, hot_config(5));
  const std::string good = slurp(p);
  const auto h = read_nersc_header(p);

  // One flipped bit in the least significant byte of the last double: still SU(3), caught by the checksum.
  std::string flipped = good;
  flipped.back() = static_cast<char>(flipped.back() ^ 1);
  dump(p, flipped);
  expect_nersc_error([&] { read_nersc(p); }, "CHECKSUM mismatch: header 0x" + hex(h.checksum, "%08x"));
  EXPECT_LT(max_abs_diff(read_nersc(p, nullptr, /*check=*/false), hot_config(5)), 1e-15);

  dump(p, replace_line(good, "PLAQUETTE", "PLAQUETTE = " + std::to_string(h.plaquette + 1e-3)));
  expect_nersc_error([&] { read_nersc(p); }, "PLAQUETTE mismatch");
  EXPECT_NO_THROW(read_nersc(p, nullptr, false));
  dump(p, replace_line(good, "LINK_TRACE", "LINK_TRACE = 0.5"));
  expect_nersc_error([&] { read_nersc(p); }, "LINK_TRACE mismatch");

  const std::string expected_bytes = std::to_string(good.size() - h.data_offset);
  dump(p, good.substr(0, good.size() - 8));
  expect_nersc_error([&] { read_nersc(p); }, expected_bytes + " expected bytes");
  expect_nersc_error([&] { read_nersc(p, nullptr, false); }, "has " + std::to_string(good.size() - 8 - h.data_offset));
  dump(p, good + "x");
  expect_nersc_error([&] { read_nersc(p, nullptr, false); }, expected_bytes + " expected bytes");

  dump(p, replace_line(good, "END_HEADER", ""));
  expect_nersc_error([&] { read_nersc(p); }, "missing END_HEADER");
  expect_nersc_error([&] { read_nersc_header(p); }, "missing END_HEADER");
  dump(p, good.substr(1));
  expect_nersc_error([&] { read_nersc(p); }, "BEGIN_HEADER");
  dump(p, replace_line(good, "DIMENSION_3", ""));
  expect_nersc_error([&] { read_nersc(p); }, "DIMENSION_3");
  dump(p, replace_line(good, "PLAQUETTE", "PLAQUETTE = 0.5x"));
  expect_nersc_error([&] { read_nersc_header(p); }, "PLAQUETTE = '0.5x' is not a finite number");
  dump(p, replace_line(good, "CHECKSUM", "CHECKSUM = 12g4"));
  expect_nersc_error([&] { read_nersc_header(p); }, "CHECKSUM");
  dump(p, replace_line(good, "DATATYPE", "DATATYPE = 4D_SU2_GAUGE"));
  expect_nersc_error([&] { read_nersc_header(p); }, "unsupported DATATYPE");
  dump(p, replace_line(good, "FLOATING_POINT", "FLOATING_POINT = IEEE16"));
  expect_nersc_error([&] { read_nersc_header(p); }, "unsupported FLOATING_POINT");
  dump(p, replace_line(good, "DIMENSION_2", "DIMENSION_2 = 0"));
  expect_nersc_error([&] { read_nersc_header(p); }, "DIMENSION_2");
  expect_nersc_error([&] { read_nersc(dir.path / "does_not_exist"); }, "cannot open");
}

TEST(NerscErrors, NonUnitaryLinkInFileIsLocated) {
  TempDir dir;
  auto U = labelled_links();
  U[0][3][1][0][0][1].mul_(1.001);                                       // mu = 3 at (1, 0, 0, 1)
  dump(dir.path / "bad", encode(U, Encoding{3, 8, true, "IEEE64BIG"}));  // consistent checksum and plaquette
  expect_nersc_error([&] { read_nersc(dir.path / "bad"); }, "worst link mu = 3 at (x, y, z, t) = (1, 0, 0, 1)");
  EXPECT_NO_THROW(read_nersc(dir.path / "bad", nullptr, false));
}

TEST(NerscErrors, WriteRejectsNonSu3Input) {
  TempDir dir;
  const fs::path p = dir.path / "cfg";
  auto gen = make_generator(7);
  expect_nersc_error([&] { write_nersc(p, hot_gauge_field(1, {4, 4}, 3, gen, cpu_cplx())); }, "4D gauge field");
  expect_nersc_error([&] { write_nersc(p, hot_gauge_field(1, {2, 2, 2, 2}, 2, gen, cpu_cplx())); }, "SU(3)");
  expect_nersc_error(
      [&] {
        write_nersc(p, hot_gauge_field(2, {2, 2, 2, 2}, 3, gen, cpu_cplx()));
      },
      "one configuration");
  expect_nersc_error([&] { write_nersc(p, torch::ones({1, 4, 2, 2, 2, 2, 3, 3}, real())); }, "complex");
  auto bad = hot_gauge_field(1, {2, 2, 2, 2}, 3, gen, cpu_cplx());
  bad[0][1][1][0][1][0].mul_(1.1);
  expect_nersc_error([&] { write_nersc(p, bad); }, "worst link mu = 1 at (x, y, z, t) = (1, 0, 1, 0)");
  // complex64 links are SU(3) only to ~1e-7: fine for a 32-bit file, not for a 64-bit one.
  auto single = hot_gauge_field(1, {2, 2, 2, 2}, 3, gen, torch::TensorOptions().dtype(torch::kComplexFloat));
  expect_nersc_error([&] { write_nersc(p, single); }, "not in SU(3)");
  NerscWriteOptions opt;
  opt.double_precision = false;
  EXPECT_NO_THROW(write_nersc(p, single, opt));
}
