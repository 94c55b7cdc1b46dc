// Reading and writing ILDG gauge configurations (see ildg.h).
#include "io/ildg.h"

#include "support/atomic_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <regex>

namespace blockspin::io {
namespace {

std::string ildg_file(const std::filesystem::path& path) { return "ILDG file '" + path.string() + "': "; }

/// The text of the first <tag>...</tag> (whitespace trimmed), or nullopt.
std::optional<std::string> xml_value(const std::string& xml, const std::string& tag) {
  const std::regex re("<" + tag + R"((?:\s[^>]*)?>\s*([^<]*?)\s*</)" + tag + ">");
  std::smatch m;
  if (!std::regex_search(xml, m, re)) return std::nullopt;
  return m[1].str();
}

int64_t xml_int(const std::string& xml, const std::string& tag, const std::string& w) {
  const auto v = xml_value(xml, tag);
  if (!v) throw LimeError(w + "the ildg-format record lacks <" + tag + ">");
  try {
    std::size_t used = 0;
    const long long n = std::stoll(*v, &used);
    if (used != v->size()) throw std::invalid_argument(*v);
    return n;
  } catch (const std::exception&) {
    throw LimeError(w + "<" + tag + "> is '" + *v + "', not an integer");
  }
}

std::string format_xml(const std::vector<int64_t>& d, int64_t precision) {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ildgFormat xmlns=\"http://www.lqcd.org/ildg\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:schemaLocation=\"http://www.lqcd.org/ildg http://www.lqcd.org/ildg/filefmt.xsd\">\n"
      "<version>1.0</version>\n<field>su3gauge</field>\n<precision>{}</precision>\n"
      "<lx>{}</lx><ly>{}</ly><lz>{}</lz><lt>{}</lt>\n</ildgFormat>\n",
      precision, d[0], d[1], d[2], d[3]);
}

std::string checksum_xml(const ScidacChecksum& c) {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<scidacChecksum><version>1.0</version><suma>{:x}</suma>"
      "<sumb>{:x}</sumb></scidacChecksum>\n",
      c.a, c.b);
}

uint32_t parse_hex32(const std::string& text, const std::string& tag, const std::string& w) {
  try {
    std::size_t used = 0;
    const unsigned long long v = std::stoull(text, &used, 16);
    if (used != text.size() || v > 0xffffffffULL) throw std::invalid_argument(text);
    return static_cast<uint32_t>(v);
  } catch (const std::exception&) {
    throw LimeError(w + "scidac-checksum <" + tag + "> is '" + text + "', not a 32-bit hex number");
  }
}

/// Host-order bytes of the stored numbers (site-major, 4 x 9 complex per site).
std::vector<unsigned char> host_bytes(const torch::Tensor& stored) {
  std::vector<unsigned char> bytes(static_cast<std::size_t>(stored.numel() * stored.element_size()));
  std::memcpy(bytes.data(), stored.data_ptr(), bytes.size());
  return bytes;
}

}  // namespace

void write_ildg(const std::filesystem::path& path, const torch::Tensor& U_in, const IldgWriteOptions& o) {
  const std::string w = ildg_file(path);
  const auto one = one_su3_configuration(U_in);
  if (!one)
    throw LimeError(fmt::format("{}ILDG files hold one 4D SU(3) configuration; got links of shape [{}]", w,
                                fmt::join(U_in.sizes(), ", ")));
  const torch::Tensor& U = *one;
  const int64_t bytes_per_real = o.double_precision ? 8 : 4;
  const auto stored = stored_from_links(U, 3, bytes_per_real);
  const std::vector<int64_t> d{U.size(2), U.size(3), U.size(4), U.size(5)};
  // What a reader gets back must pass its SU(3) check (complex64 links written as 64-bit data would not).
  if (auto bad = su3_violation(links_from_stored(stored.to(torch::kDouble), d, 3), precision_tolerance(bytes_per_real)))
    throw LimeError(w + "refusing to write: " + *bad);
  auto bytes = host_bytes(stored);
  const int64_t volume = d[0] * d[1] * d[2] * d[3];
  const auto sum = scidac_checksum(bytes.data(), volume, 4 * 9 * 2 * bytes_per_real);
  swap_file_host(bytes, bytes_per_real, /*file_big_endian=*/true);
  LimeWriter lime;
  lime.add("ildg-format", format_xml(d, 8 * bytes_per_real), true, false);
  lime.add("ildg-binary-data", std::string(bytes.begin(), bytes.end()), false, false);
  lime.add("scidac-checksum", checksum_xml(sum), false, o.lfn.empty());
  if (!o.lfn.empty()) lime.add("ildg-data-lfn", o.lfn, false, true);
  support::write_file_atomic(path, lime.bytes());
}

torch::Tensor read_ildg(const std::filesystem::path& path, IldgInfo* info, bool check) {
  const std::string w = ildg_file(path);
  const auto records = read_lime_records(path);
  const auto* format = find_lime_record(records, "ildg-format");
  const auto* binary = find_lime_record(records, "ildg-binary-data");
  if (format == nullptr) throw LimeError(w + "no ildg-format record");
  const std::string xml = read_lime_data(path, *format);
  IldgInfo h;
  const auto field = xml_value(xml, "field");
  if (!field) throw LimeError(w + "the ildg-format record lacks <field>");
  if (*field != "su3gauge") throw LimeError(w + "field '" + *field + "': only su3gauge configurations are read");
  if (binary == nullptr) throw LimeError(w + "no ildg-binary-data record");
  h.precision = xml_int(xml, "precision", w);
  if (h.precision != 32 && h.precision != 64)
    throw LimeError(fmt::format("{}precision {}: expected 32 or 64", w, h.precision));
  for (const char* tag : {"lx", "ly", "lz", "lt"}) {
    h.dims.push_back(xml_int(xml, tag, w));
    if (h.dims.back() < 1) throw LimeError(fmt::format("{}<{}> = {} is not a lattice extent", w, tag, h.dims.back()));
  }
  const int64_t bytes_per_real = h.precision / 8;
  const int64_t volume = h.dims[0] * h.dims[1] * h.dims[2] * h.dims[3];
  const int64_t site_bytes = 4 * 9 * 2 * bytes_per_real;
  if (binary->length != volume * site_bytes)
    throw LimeError(fmt::format("{}ildg-binary-data has {} bytes; a {} lattice of {}-bit SU(3) links needs {}", w,
                                binary->length, fmt::join(h.dims, "x"), h.precision, volume * site_bytes));
  if (const auto* lfn = find_lime_record(records, "ildg-data-lfn")) h.lfn = read_lime_data(path, *lfn);
  const std::string data = read_lime_data(path, *binary);
  std::vector<unsigned char> bytes(data.begin(), data.end());
  swap_file_host(bytes, bytes_per_real, /*file_big_endian=*/true);
  if (const auto* c = find_lime_record(records, "scidac-checksum")) {
    const std::string text = read_lime_data(path, *c);
    const auto a = xml_value(text, "suma"), b = xml_value(text, "sumb");
    if (!a || !b) throw LimeError(w + "the scidac-checksum record lacks <suma> or <sumb>");
    h.checksum = ScidacChecksum{parse_hex32(*a, "suma", w), parse_hex32(*b, "sumb", w)};
    if (check) {
      const auto sum = scidac_checksum(bytes.data(), volume, site_bytes);
      if (sum.a != h.checksum->a || sum.b != h.checksum->b)
        throw LimeError(
            fmt::format("{}SciDAC checksum mismatch: file suma {:x} sumb {:x}, data {:x} {:x} (damaged "
                        "data?)",
                        w, h.checksum->a, h.checksum->b, sum.a, sum.b));
    }
  }
  const auto dtype = bytes_per_real == 8 ? torch::kDouble : torch::kFloat;
  auto reals = torch::empty({volume * 4 * 9 * 2}, dtype);
  std::memcpy(reals.data_ptr(), bytes.data(), bytes.size());
  auto U = links_from_stored(reals.to(torch::kDouble), h.dims, 3);
  if (check)
    if (auto bad = su3_violation(U, precision_tolerance(bytes_per_real))) throw LimeError(w + *bad);
  if (info != nullptr) *info = h;
  return U;
}

}  // namespace blockspin::io
