// LIME (Lattice QCD Interchange Message Encapsulation), the container of ILDG and SciDAC files: a sequence of
// records, each a 144-byte header followed by its data, zero-padded to a multiple of 8 bytes. Header (big-endian):
//   bytes 0-3    magic number 0x456789ab
//   bytes 4-5    LIME version (1)
//   bytes 6-7    flags: 0x8000 message begin (MB), 0x4000 message end (ME); a message is the records from an MB to
//                the next ME
//   bytes 8-15   data length in bytes (without the padding)
//   bytes 16-143 record type, ASCII, NUL-padded (e.g. "ildg-format", "ildg-binary-data", "scidac-checksum")
#pragma once

#include "support/errors.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace blockspin::io {

/// A malformed LIME or ILDG file (an input-file error: exit status 4).
struct LimeError : support::InputError {
  using support::InputError::InputError;
};

struct LimeRecord {
  std::string type;
  bool message_begin = false, message_end = false;
  int64_t offset = 0;  ///< byte offset of the data in the file
  int64_t length = 0;  ///< data bytes (without padding)
};

constexpr uint32_t kLimeMagic = 0x456789ab;

/// True when the file starts with the LIME magic number.
bool is_lime_file(const std::filesystem::path& path);

/// Every record header of the file, checked: magic number and version of each, data and padding inside the file
/// (a truncated file names the record), nothing but whole records. LimeError naming the file otherwise.
std::vector<LimeRecord> read_lime_records(const std::filesystem::path& path);

/// The first record of type `type`, or nullptr.
const LimeRecord* find_lime_record(const std::vector<LimeRecord>& records, const std::string& type);

/// The data of one record.
std::string read_lime_data(const std::filesystem::path& path, const LimeRecord& record);

/// Builds a LIME file in memory; `bytes()` is the whole file.
class LimeWriter {
 public:
  /// Appends a record (type at most 128 characters).
  void add(const std::string& type, const std::string& data, bool message_begin, bool message_end);
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

}  // namespace blockspin::io
