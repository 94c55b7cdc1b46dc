// ILDG (LIME) and openQCD gauge files: round trips bit for bit, readers against files written by an independent
// minimal writer (tests/python/write_gauge_files.py: struct + numpy + zlib), the SciDAC checksum against that writer's,
// and damaged files (checksum mismatch, truncation, wrong XML dimensions, byte-swapped data, non-SU(3) links, a
// wrong header plaquette): one error naming the file and what is wrong.
#include "lattice/test_helpers.h"

#include "io_test_helpers.h"

#include "io/ildg.h"
#include "io/lime.h"
#include "io/openqcd.h"
#include "lattice/observables.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>

using namespace blockspin::lattice;
using namespace blockspin::io;
using namespace blockspin::lattice::testing;
using namespace blockspin::io::testing;
namespace fs = std::filesystem;

namespace {

torch::Tensor field(uint64_t seed, std::vector<int64_t> extents = {4, 2, 2, 4}) {
  auto gen = make_generator(seed);
  return hot_gauge_field(1, extents, 3, gen, cpu_cplx());
}

/// The independent writer's files for a 4x2x2x4 lattice, and its links.
struct PythonFiles {
  TempDir dir;
  torch::Tensor links;
  PythonFiles() {
    const std::string cmd = std::string(BLOCKSPIN_PYTHON) + " " + BLOCKSPIN_SOURCE_DIR +
                            "/tests/python/write_gauge_files.py " + dir.path.string() + " 4 2 2 4 7";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("write_gauge_files.py failed: " + cmd);
    const std::string raw = slurp(dir.path / "links.f64");
    links = torch::empty({1, 4, 4, 2, 2, 4, 3, 3}, torch::kComplexDouble);
    EXPECT_EQ(raw.size(), static_cast<size_t>(links.numel() * 16));
    std::memcpy(links.data_ptr(), raw.data(), raw.size());
  }
};

template <class Error, class F>
void expect_error(F&& f, const std::string& needle, const fs::path& file) {
  try {
    f();
    FAIL() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(needle), std::string::npos) << what;
    EXPECT_NE(what.find(file.string()), std::string::npos) << "the message names the file: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
  }
}

}  // namespace

TEST(Ildg, RoundTripIsBitwiseAndFloatWithinPrecision) {
  TempDir t;
  const auto U = field(1);
  write_ildg(t.path / "a.ildg", U, {true, "lfn://a"});
  IldgInfo info;
  const auto back = read_ildg(t.path / "a.ildg", &info);
  EXPECT_TRUE(torch::equal(back, U));
  EXPECT_EQ(info.dims, (std::vector<int64_t>{4, 2, 2, 4}));
  EXPECT_EQ(info.precision, 64);
  EXPECT_EQ(info.lfn, "lfn://a");
  ASSERT_TRUE(info.checksum.has_value());
  EXPECT_TRUE(is_lime_file(t.path / "a.ildg"));
  const auto records = read_lime_records(t.path / "a.ildg");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_TRUE(records.front().message_begin);
  EXPECT_TRUE(records.back().message_end);
  write_ildg(t.path / "f.ildg", U, {false, ""});
  const auto f = read_ildg(t.path / "f.ildg", &info);
  EXPECT_EQ(info.precision, 32);
  EXPECT_TRUE(torch::equal(f, U.to(torch::kComplexFloat).to(torch::kComplexDouble)));
}

TEST(Ildg, ReadsTheIndependentWriterAndAgreesOnTheChecksum) {
  PythonFiles py;
  IldgInfo info;
  const auto U = read_ildg(py.dir.path / "conf.ildg", &info);
  EXPECT_TRUE(torch::equal(U, py.links)) << "site, link and matrix order";
  EXPECT_EQ(info.lfn, "lfn://test/conf");
  ASSERT_TRUE(info.checksum.has_value());
  // our writer computes the same SciDAC checksum for the same links
  write_ildg(py.dir.path / "ours.ildg", py.links);
  IldgInfo ours;
  read_ildg(py.dir.path / "ours.ildg", &ours);
  EXPECT_EQ(ours.checksum->a, info.checksum->a);
  EXPECT_EQ(ours.checksum->b, info.checksum->b);
}

TEST(Ildg, DamagedFilesAreOneLineErrors) {
  TempDir t;
  const fs::path good = t.path / "good.ildg";
  write_ildg(good, field(2));
  const std::string bytes = slurp(good);
  const auto records = read_lime_records(good);
  const auto* data = find_lime_record(records, "ildg-binary-data");
  ASSERT_NE(data, nullptr);
  // one flipped bit in the data: the checksum catches it
  std::string flipped = bytes;
  flipped[static_cast<size_t>(data->offset + 1000)] ^= 0x10;
  const fs::path p1 = t.path / "flipped.ildg";
  dump(p1, flipped);
  expect_error<LimeError>([&] { read_ildg(p1); }, "checksum mismatch", p1);
  EXPECT_NO_THROW(read_ildg(p1, nullptr, /*check=*/false));
  // truncated inside the binary data
  const fs::path p2 = t.path / "truncated.ildg";
  dump(p2, bytes.substr(0, static_cast<size_t>(data->offset + 100)));
  expect_error<LimeError>([&] { read_ildg(p2); }, "truncated", p2);
  // the XML claims another lattice: the data size does not match
  const auto* fmt = find_lime_record(records, "ildg-format");
  std::string xml = read_lime_data(good, *fmt);
  xml = std::regex_replace(xml, std::regex("<lx>4</lx>"), "<lx>6</lx>");
  LimeWriter w;
  w.add("ildg-format", xml, true, false);
  w.add("ildg-binary-data", read_lime_data(good, *data), false, true);
  const fs::path p3 = t.path / "dims.ildg";
  dump(p3, w.bytes());
  expect_error<LimeError>([&] { read_ildg(p3); }, "6x2x2x4", p3);
  // little-endian data in a big-endian format (a byte-swapping writer bug): not SU(3)
  std::string swapped = read_lime_data(good, *data);
  for (size_t i = 0; i + 8 <= swapped.size(); i += 8) std::reverse(swapped.begin() + i, swapped.begin() + i + 8);
  LimeWriter ws;
  ws.add("ildg-format", read_lime_data(good, *fmt), true, false);
  ws.add("ildg-binary-data", swapped, false, true);
  const fs::path p4 = t.path / "swapped.ildg";
  dump(p4, ws.bytes());
  expect_error<LimeError>([&] { read_ildg(p4); }, "not in SU(3)", p4);
  // not su3gauge; not a LIME file at all
  LimeWriter wf;
  wf.add("ildg-format", std::regex_replace(read_lime_data(good, *fmt), std::regex("su3gauge"), "u1gauge"), true, true);
  const fs::path p5 = t.path / "u1.ildg";
  dump(p5, wf.bytes());
  expect_error<LimeError>([&] { read_ildg(p5); }, "u1gauge", p5);
  const fs::path p6 = t.path / "text.ildg";
  dump(p6, std::string(200, 'x'));
  EXPECT_FALSE(is_lime_file(p6));
  expect_error<LimeError>([&] { read_ildg(p6); }, "magic", p6);
  // the writer refuses what it cannot store
  auto gen = make_generator(3);
  const auto su2 = hot_gauge_field(1, {2, 2, 2, 2}, 2, gen, cpu_cplx());
  expect_error<LimeError>([&] { write_ildg(t.path / "su2.ildg", su2); }, "SU(3)", t.path / "su2.ildg");
  EXPECT_FALSE(fs::exists(t.path / "su2.ildg"));
}

TEST(OpenQcd, RoundTripIsBitwiseAndHeaderHoldsReTrP) {
  TempDir t;
  const auto U = field(4);
  write_openqcd(t.path / "a.cnfg", U);
  OpenQcdHeader h;
  const auto back = read_openqcd(t.path / "a.cnfg", &h);
  EXPECT_TRUE(torch::equal(back, U));
  EXPECT_EQ(h.n, (std::vector<int64_t>{4, 4, 2, 2}));  // (t, x, y, z)
  EXPECT_NEAR(h.plaquette, 3.0 * average_plaquette(U).item<double>(), 1e-14);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(t.path / "a.cnfg")), openqcd_file_bytes(h.n));
  EXPECT_TRUE(is_openqcd_file(t.path / "a.cnfg"));
  EXPECT_FALSE(is_lime_file(t.path / "a.cnfg"));
}

TEST(OpenQcd, ReadsTheIndependentWriterAndWritesItsBytes) {
  PythonFiles py;
  OpenQcdHeader h;
  const auto U = read_openqcd(py.dir.path / "conf.cnfg", &h);
  EXPECT_TRUE(torch::equal(U, py.links)) << "site order, odd-point links and direction order";
  write_openqcd(py.dir.path / "ours.cnfg", py.links);
  const std::string a = slurp(py.dir.path / "conf.cnfg"), b = slurp(py.dir.path / "ours.cnfg");
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.substr(0, 16), b.substr(0, 16)) << "extents";
  EXPECT_EQ(a.substr(24), b.substr(24)) << "link data byte for byte";
}

TEST(OpenQcd, DamagedFilesAreOneLineErrors) {
  TempDir t;
  const fs::path good = t.path / "good.cnfg";
  write_openqcd(good, field(5));
  const std::string bytes = slurp(good);
  const fs::path p1 = t.path / "truncated.cnfg";
  dump(p1, bytes.substr(0, bytes.size() - 8));
  EXPECT_FALSE(is_openqcd_file(p1));
  expect_error<OpenQcdError>([&] { read_openqcd(p1); }, "truncated", p1);
  // the header plaquette divided by 3 (our normalisation written by mistake): named as such
  std::string third = bytes;
  double plaq = 0;
  std::memcpy(&plaq, bytes.data() + 16, 8);
  plaq /= 3.0;
  std::memcpy(third.data() + 16, &plaq, 8);
  const fs::path p2 = t.path / "third.cnfg";
  dump(p2, third);
  expect_error<OpenQcdError>([&] { read_openqcd(p2); }, "divided by 3", p2);
  // a damaged link
  std::string bad = bytes;
  bad[24 + 8 * 3 + 6] ^= 0x40;  // a high mantissa bit of the 4th real
  const fs::path p3 = t.path / "link.cnfg";
  dump(p3, bad);
  expect_error<OpenQcdError>([&] { read_openqcd(p3); }, "not in SU(3)", p3);
  // odd extents are not openQCD lattices
  expect_error<OpenQcdError>(
      [&] {
        write_openqcd(t.path / "odd.cnfg", field(6, {3, 2, 2, 2}));
      },
      "even", t.path / "odd.cnfg");
  EXPECT_FALSE(fs::exists(t.path / "odd.cnfg"));
}
