// Reading and writing NERSC gauge-configuration files (see nersc.h for the format and the checksum definition).
#include "io/nersc.h"

#include "io/gauge_binary.h"

#include "support/atomic_file.h"

#include "lattice/observables.h"
#include "lattice/su_n.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

namespace blockspin::io {

using lattice::average_plaquette;
using lattice::su_n_violation;

namespace {

constexpr std::size_t kMaxHeaderBytes = std::size_t{1} << 20;  // a header longer than this is not a header
const std::string kDatatype3x3 = "4D_SU3_GAUGE_3x3";
const std::string kDatatype2x3 = "4D_SU3_GAUGE";

std::string nersc_file(const std::filesystem::path& path) { return "NERSC file '" + path.string() + "': "; }

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string hex(uint32_t v, bool pad = true) {
  char buf[16];
  std::snprintf(buf, sizeof buf, pad ? "%08x" : "%x", static_cast<unsigned>(v));
  return buf;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// ---- header parsing ----

const std::string& field(const NerscHeader& h, const std::string& key, const std::string& w) {
  auto it = h.fields.find(key);
  if (it == h.fields.end()) throw NerscError(w + "header lacks the required key " + key);
  return it->second;
}

int64_t parse_int(const NerscHeader& h, const std::string& key, const std::string& w) {
  const std::string& s = field(h, key, w);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE)
    throw NerscError(w + "header key " + key + " = '" + s + "' is not an integer");
  return v;
}

double parse_double(const NerscHeader& h, const std::string& key, const std::string& w) {
  const std::string& s = field(h, key, w);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v))
    throw NerscError(w + "header key " + key + " = '" + s + "' is not a finite number");
  return v;
}

uint32_t parse_hex(const NerscHeader& h, const std::string& key, const std::string& w) {
  std::string s = field(h, key, w);
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s = s.substr(2);
  const auto nonzero = s.find_first_not_of('0');
  const std::string digits = nonzero == std::string::npos ? "0" : s.substr(nonzero);
  const bool ok = !s.empty() && digits.size() <= 8 &&
                  std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
  if (!ok) throw NerscError(w + "header key " + key + " = '" + field(h, key, w) + "' is not a 32-bit hex number");
  return static_cast<uint32_t>(std::stoul(digits, nullptr, 16));
}

/// Parses the header at the start of `text` (the first bytes of the file; `whole_file` if that is all of it).
NerscHeader parse_header(const std::string& text, bool whole_file, const std::string& w) {
  std::vector<std::string> lines;  // trimmed lines before END_HEADER
  std::size_t pos = 0;
  bool ended = false;
  while (pos < text.size() && !ended) {
    const auto nl = text.find('\n', pos);
    if (nl == std::string::npos && !whole_file) break;  // cut off by kMaxHeaderBytes
    const std::size_t next = nl == std::string::npos ? text.size() : nl + 1;
    std::string line = trim(text.substr(pos, next - pos));
    pos = next;
    ended = !lines.empty() && line == "END_HEADER";
    if (!ended) lines.push_back(std::move(line));
  }
  if (lines.empty() || lines[0] != "BEGIN_HEADER")
    throw NerscError(w + "header error: file does not start with BEGIN_HEADER");
  if (!ended) throw NerscError(w + "header error: missing END_HEADER");
  NerscHeader h;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto eq = lines[i].find('=');
    const std::string key = eq == std::string::npos ? "" : trim(lines[i].substr(0, eq));
    if (key.empty()) throw NerscError(w + "header error: malformed line '" + lines[i] + "' (expected KEY = VALUE)");
    if (!h.fields.emplace(key, trim(lines[i].substr(eq + 1))).second)
      throw NerscError(w + "header error: duplicate key " + key);
  }
  h.data_offset = static_cast<int64_t>(pos);

  h.datatype = field(h, "DATATYPE", w);
  if (h.datatype == kDatatype3x3) {
    h.rows = 3;
  } else if (h.datatype == kDatatype2x3) {
    h.rows = 2;
  } else {
    throw NerscError(w + "unsupported DATATYPE '" + h.datatype + "' (expected " + kDatatype3x3 + " or " + kDatatype2x3 +
                     ")");
  }
  h.floating_point = field(h, "FLOATING_POINT", w);
  const std::string& fp = h.floating_point;
  if (fp == "IEEE64BIG" || fp == "IEEE64" || fp == "IEEE64LITTLE") {
    h.bytes_per_real = 8;
  } else if (fp == "IEEE32BIG" || fp == "IEEE32" || fp == "IEEE32LITTLE") {
    h.bytes_per_real = 4;
  } else {
    throw NerscError(w + "unsupported FLOATING_POINT '" + fp + "' (expected IEEE64BIG, IEEE32BIG, IEEE64LITTLE, " +
                     "IEEE32LITTLE, IEEE64 or IEEE32)");
  }
  h.big_endian = fp.find("LITTLE") == std::string::npos;  // IEEE64 / IEEE32: big-endian as in CPS and QLUA
  double bytes = static_cast<double>(4 * h.rows * 3 * 2 * h.bytes_per_real);
  for (int i = 1; i <= 4; ++i) {
    const std::string key = "DIMENSION_" + std::to_string(i);
    h.dims.push_back(parse_int(h, key, w));
    if (h.dims.back() < 1) throw NerscError(w + "header key " + key + " = " + field(h, key, w) + " is not positive");
    bytes *= static_cast<double>(h.dims.back());
  }
  if (bytes > 1e18) throw NerscError(w + "header dimensions are implausibly large");
  h.checksum = parse_hex(h, "CHECKSUM", w);
  h.plaquette = parse_double(h, "PLAQUETTE", w);
  h.link_trace = parse_double(h, "LINK_TRACE", w);
  return h;
}

/// The first bytes of the file (at most kMaxHeaderBytes) and the file size.
std::string read_head(const std::filesystem::path& path, std::uintmax_t& file_size) {
  std::error_code ec;
  file_size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) throw NerscError(nersc_file(path) + "cannot open for reading");
  std::string text(static_cast<std::size_t>(std::min<std::uintmax_t>(file_size, kMaxHeaderBytes)), '\0');
  in.read(&text[0], static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

// ---- data conversion ----

/// Unit of the last decimal written in a number ("0.588107" -> 1e-6, "5.8e-1" -> 1e-2).
double last_decimal_unit(const std::string& text) {
  const auto e = text.find_first_of("eE");
  const std::string mantissa = text.substr(0, e);
  const long exponent = e == std::string::npos ? 0 : std::strtol(text.c_str() + e + 1, nullptr, 10);
  const auto dot = mantissa.find('.');
  const long decimals = dot == std::string::npos ? 0 : static_cast<long>(mantissa.size() - dot - 1);
  return std::pow(10.0, static_cast<double>(exponent - decimals));
}

void check_header_value(const std::string& key, const NerscHeader& h, double header_value, double computed,
                        const std::string& w) {
  const std::string& text = h.fields.at(key);
  const double floor = precision_tolerance(h.bytes_per_real);
  const double tol = std::max(floor, std::min(1e-6, last_decimal_unit(text)));
  const double diff = std::abs(header_value - computed);
  if (diff <= tol) return;
  throw NerscError(w + key + " mismatch: header " + text + ", recomputed " + format("%.12f", computed) +
                   ", |difference| " + format("%.3e", diff) + " > absolute tolerance " + format("%.0e", tol) +
                   " (max of " + format("%.0e", floor) + " for " + h.floating_point +
                   " data and the last decimal written in the header, capped at 1e-6)");
}

std::string utc_now() {
  static std::mutex mutex;  // std::gmtime uses a shared buffer
  std::lock_guard<std::mutex> lock(mutex);
  const std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %d %H:%M:%S %Y UTC", std::gmtime(&t));
  return buf;
}

std::string hardware() {
#if defined(__x86_64__) && defined(__linux__)
  return "x86_64-Linux";
#elif defined(__aarch64__) && defined(__linux__)
  return "aarch64-Linux";
#else
  return "unknown";
#endif
}

}  // namespace

int64_t NerscHeader::data_bytes() const {
  int64_t n = 4 * rows * 3 * 2 * bytes_per_real;
  for (auto d : dims) n *= d;
  return n;
}

uint32_t nersc_checksum(const void* data, std::size_t n_bytes, bool big_endian) {
  const auto* b = static_cast<const unsigned char*>(data);
  uint32_t sum = 0;  // unsigned arithmetic wraps modulo 2^32
  for (std::size_t i = 0; i + 4 <= n_bytes; i += 4, b += 4) {
    sum += big_endian ? (uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | uint32_t{b[3]})
                      : (uint32_t{b[3]} << 24 | uint32_t{b[2]} << 16 | uint32_t{b[1]} << 8 | uint32_t{b[0]});
  }
  return sum;
}

double nersc_link_trace(const torch::Tensor& U) {
  return torch::real(U.diagonal(0, -2, -1).sum(-1)).mean().item<double>() / static_cast<double>(U.size(-1));
}

NerscHeader read_nersc_header(const std::filesystem::path& path) {
  std::uintmax_t size = 0;
  const std::string head = read_head(path, size);
  return parse_header(head, head.size() == size, nersc_file(path));
}

torch::Tensor read_nersc(const std::filesystem::path& path, NerscHeader* header, bool check) {
  const std::string w = nersc_file(path);
  std::uintmax_t size = 0;
  const std::string head = read_head(path, size);
  NerscHeader h = parse_header(head, head.size() == size, w);

  const int64_t expected = h.data_bytes();
  const int64_t actual = static_cast<int64_t>(size) - h.data_offset;
  if (actual != expected) {
    throw NerscError(w + "data section has " + std::to_string(actual) + " bytes but the header (" + h.datatype + ", " +
                     h.floating_point + ", " + std::to_string(h.dims[0]) + "x" + std::to_string(h.dims[1]) + "x" +
                     std::to_string(h.dims[2]) + "x" + std::to_string(h.dims[3]) + ") implies " +
                     std::to_string(expected) + " expected bytes" + (actual < expected ? " (truncated file?)" : ""));
  }
  std::vector<unsigned char> data(static_cast<std::size_t>(expected));
  std::ifstream in(path, std::ios::binary);
  in.seekg(h.data_offset);
  in.read(reinterpret_cast<char*>(data.data()), expected);
  if (!in) throw NerscError(w + "reading the data section failed");

  if (check) {
    uint32_t computed = nersc_checksum(data.data(), data.size(), h.big_endian);
    const bool ambiguous = h.floating_point == "IEEE64" || h.floating_point == "IEEE32";
    if (ambiguous && computed != h.checksum && nersc_checksum(data.data(), data.size(), false) == h.checksum) {
      h.big_endian = false;  // Grid's reading of IEEE64 / IEEE32
      computed = h.checksum;
    }
    if (computed != h.checksum) {
      throw NerscError(w + "CHECKSUM mismatch: header 0x" + hex(h.checksum) + ", computed 0x" + hex(computed) +
                       " (sum mod 2^32 of the data's 32-bit " + (h.big_endian ? "big" : "little") + "-endian words)");
    }
  }
  swap_file_host(data, h.bytes_per_real, h.big_endian);
  auto reals = torch::from_blob(data.data(), {expected / h.bytes_per_real},
                                h.bytes_per_real == 8 ? torch::kDouble : torch::kFloat)
                   .to(torch::kDouble, /*non_blocking=*/false, /*copy=*/true);
  auto U = links_from_stored(reals, h.dims, h.rows);

  if (check) {
    if (auto bad = su3_violation(U, precision_tolerance(h.bytes_per_real)))
      throw NerscError(w + "(" + h.floating_point + " data) " + *bad);
    check_header_value("LINK_TRACE", h, h.link_trace, nersc_link_trace(U), w);
    check_header_value("PLAQUETTE", h, h.plaquette, average_plaquette(U)[0].item<double>(), w);
  }
  if (header) *header = std::move(h);
  return U;
}

void write_nersc(const std::filesystem::path& path, const torch::Tensor& U, const NerscWriteOptions& opt) {
  const std::string w = "write_nersc('" + path.string() + "'): ";
  if (!U.defined() || !U.is_complex()) throw NerscError(w + "links must be a defined complex tensor");
  auto shape = [&] {
    std::ostringstream os;
    os << U.sizes();
    return os.str();
  };
  const torch::Tensor U8 = U.dim() == 7 ? U.unsqueeze(0) : U;
  if (U8.dim() != 8 || U8.size(1) != 4)
    throw NerscError(w + "expected a 4D gauge field [4, x, y, z, t, 3, 3] or [1, 4, x, y, z, t, 3, 3], got " + shape());
  if (U8.size(0) != 1) throw NerscError(w + "a NERSC file holds one configuration, got the batch " + shape());
  if (U8.size(-1) != 3 || U8.size(-2) != 3) throw NerscError(w + "NERSC files hold SU(3) links, got " + shape());
  for (int64_t k = 2; k < 6; ++k)
    if (U8.size(k) < 1) throw NerscError(w + "lattice extents must be positive, got " + shape());
  for (const auto* s : {&opt.ensemble_id, &opt.ensemble_label, &opt.creator})
    if (s->find_first_of("\r\n") != std::string::npos) throw NerscError(w + "header strings must be single lines");

  NerscHeader h;
  h.rows = opt.two_rows ? 2 : 3;
  h.bytes_per_real = opt.double_precision ? 8 : 4;
  h.datatype = opt.two_rows ? kDatatype2x3 : kDatatype3x3;
  h.floating_point = opt.double_precision ? "IEEE64BIG" : "IEEE32BIG";
  for (int64_t k = 2; k < 6; ++k) h.dims.push_back(U8.size(k));

  // What a reader will get back: check it and compute the header's plaquette and link trace from it.
  auto stored = stored_from_links(U8.to(torch::kCPU, torch::kComplexDouble), h.rows, h.bytes_per_real);
  auto links = links_from_stored(stored.to(torch::kDouble), h.dims, h.rows);
  if (auto bad = su3_violation(links, precision_tolerance(h.bytes_per_real)))
    throw NerscError(w + "(as " + h.datatype + ", " + h.floating_point + ") " + *bad);
  const double plaquette = average_plaquette(links)[0].item<double>();
  const double link_trace = nersc_link_trace(links);

  std::vector<unsigned char> data(static_cast<std::size_t>(stored.numel() * h.bytes_per_real));
  std::memcpy(data.data(), stored.data_ptr(), data.size());
  swap_file_host(data, h.bytes_per_real, /*file_big_endian=*/true);
  const uint32_t checksum = nersc_checksum(data.data(), data.size(), /*big_endian=*/true);

  const std::string date = utc_now();
  std::ostringstream os;
  os << "BEGIN_HEADER\n"
     << "HDR_VERSION = 1.0\n"
     << "DATATYPE = " << h.datatype << "\n"
     << "STORAGE_FORMAT = 1.0\n";
  for (int i = 0; i < 4; ++i) os << "DIMENSION_" << i + 1 << " = " << h.dims[i] << "\n";
  os << "LINK_TRACE = " << format("%.10f", link_trace) << "\n"
     << "PLAQUETTE = " << format("%.10f", plaquette) << "\n";
  for (int i = 0; i < 4; ++i) os << "BOUNDARY_" << i + 1 << " = PERIODIC\n";
  os << "CHECKSUM = " << hex(checksum, /*pad=*/false) << "\n"
     << "ENSEMBLE_ID = " << opt.ensemble_id << "\n"
     << "ENSEMBLE_LABEL = " << opt.ensemble_label << "\n"
     << "SEQUENCE_NUMBER = " << opt.sequence_number << "\n"
     << "CREATOR = " << opt.creator << "\n"
     << "CREATOR_HARDWARE = " << hardware() << "\n"
     << "CREATION_DATE = " << date << "\n"
     << "ARCHIVE_DATE = " << date << "\n"
     << "FLOATING_POINT = " << h.floating_point << "\n"
     << "END_HEADER\n";
  std::string bytes = os.str();
  bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
  support::write_file_atomic(path, bytes);  // temp file, fsync, rename, fsync of the directory
}

}  // namespace blockspin::io
