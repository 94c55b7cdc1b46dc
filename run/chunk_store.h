// Results of a long run saved piece by piece: DIR/chunks/PREFIX_NNNNNN.h5, each written atomically when its unit of
// work is done, read back on --resume and assembled into the final file at the end (then removed).
#pragma once

#include "run/run_directory.h"

#include <H5Cpp.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace blockspin::run {

class ChunkStore {
 public:
  /// Chunks of `format` named "PREFIX_NNNNNN.h5" in DIR/chunks (created).
  ChunkStore(const RunDirectory& run, std::string prefix, std::string format);

  std::filesystem::path path(int64_t index) const;
  /// Writes chunk `index` atomically (rank 0 of a distributed run; a no-op elsewhere).
  void write(int64_t index, const std::function<void(H5::H5File&)>& fill) const;
  /// Opens chunk `index` (format-checked; a missing or damaged chunk -> InputError naming the file).
  H5::H5File open(int64_t index) const;
  /// The number of consecutive chunks 0, 1, ... present on disk (rank 0's count, on every rank).
  int64_t count_present() const;

  /// The directory name under DIR ("chunks"), for RunDirectory::resume_or_start / finish.
  static constexpr const char* kDirectory = "chunks";

 private:
  std::filesystem::path dir_;
  std::string prefix_, format_;
  bool writes_ = true;
};

}  // namespace blockspin::run
