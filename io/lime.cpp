// LIME records: reading the headers of a file, writing records (see lime.h).
#include "io/lime.h"

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>

namespace blockspin::io {
namespace {

constexpr int64_t kHeaderBytes = 144;
constexpr uint16_t kFlagMB = 0x8000, kFlagME = 0x4000;

uint64_t big_endian_uint(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

void put_big_endian(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

int64_t padded(int64_t n) { return (n + 7) / 8 * 8; }

}  // namespace

bool is_lime_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char m[4] = {0, 0, 0, 0};
  if (!in.read(reinterpret_cast<char*>(m), 4)) return false;
  return big_endian_uint(m, 4) == kLimeMagic;
}

std::vector<LimeRecord> read_lime_records(const std::filesystem::path& path) {
  const std::string w = "LIME file '" + path.string() + "': ";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LimeError(w + "cannot be opened");
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
  std::vector<LimeRecord> records;
  int64_t pos = 0;
  while (pos < size) {
    if (size - pos < kHeaderBytes)
      throw LimeError(fmt::format("{}{} trailing bytes after record {} are not a record header (truncated file?)", w,
                                  size - pos, records.size()));
    unsigned char h[kHeaderBytes];
    in.seekg(pos);
    in.read(reinterpret_cast<char*>(h), kHeaderBytes);
    if (big_endian_uint(h, 4) != kLimeMagic)
      throw LimeError(fmt::format("{}record {} at byte {} lacks the LIME magic number 0x456789ab (found 0x{:08x})", w,
                                  records.size(), pos, big_endian_uint(h, 4)));
    const auto version = big_endian_uint(h + 4, 2);
    if (version != 1)
      throw LimeError(fmt::format("{}record {} has LIME version {}, expected 1", w, records.size(), version));
    const auto flags = static_cast<uint16_t>(big_endian_uint(h + 6, 2));
    LimeRecord r;
    r.message_begin = (flags & kFlagMB) != 0;
    r.message_end = (flags & kFlagME) != 0;
    const uint64_t length = big_endian_uint(h + 8, 8);
    const char* type = reinterpret_cast<const char*>(h + 16);
    r.type.assign(type, strnlen(type, 128));
    r.offset = pos + kHeaderBytes;
    if (length > static_cast<uint64_t>(size - r.offset))
      throw LimeError(
          fmt::format("{}record {} ('{}') announces {} data bytes, the file has {} after its header "
                      "(truncated file?)",
                      w, records.size(), r.type, length, size - r.offset));
    r.length = static_cast<int64_t>(length);
    pos = r.offset + std::min(padded(r.length), size - r.offset);
    records.push_back(r);
  }
  if (records.empty()) throw LimeError(w + "is empty");
  return records;
}

const LimeRecord* find_lime_record(const std::vector<LimeRecord>& records, const std::string& type) {
  for (const auto& r : records)
    if (r.type == type) return &r;
  return nullptr;
}

std::string read_lime_data(const std::filesystem::path& path, const LimeRecord& record) {
  std::ifstream in(path, std::ios::binary);
  std::string data(static_cast<std::size_t>(record.length), '\0');
  in.seekg(record.offset);
  if (!in.read(data.data(), record.length))
    throw LimeError("LIME file '" + path.string() + "': cannot read record '" + record.type + "'");
  return data;
}

void LimeWriter::add(const std::string& type, const std::string& data, bool message_begin, bool message_end) {
  if (type.size() > 128) throw std::invalid_argument("LIME record type longer than 128 characters: " + type);
  put_big_endian(out_, kLimeMagic, 4);
  put_big_endian(out_, 1, 2);
  put_big_endian(out_, (message_begin ? kFlagMB : 0) | (message_end ? kFlagME : 0), 2);
  put_big_endian(out_, data.size(), 8);
  std::string t = type;
  t.resize(128, '\0');
  out_ += t;
  out_ += data;
  out_.append(static_cast<std::size_t>(padded(static_cast<int64_t>(data.size())) - static_cast<int64_t>(data.size())),
              '\0');
}

}  // namespace blockspin::io
