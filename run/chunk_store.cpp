// Results of a long run saved piece by piece (see chunk_store.h).
#include "run/chunk_store.h"
#include "run/distributed.h"

#include "io/h5io.h"
#include "support/version.h"

#include <fmt/format.h>

namespace blockspin::run {

namespace fs = std::filesystem;

ChunkStore::ChunkStore(const RunDirectory& run, std::string prefix, std::string format)
    : dir_(run / kDirectory), prefix_(std::move(prefix)), format_(std::move(format)), writes_(run.writes()) {
  if (writes_) fs::create_directories(dir_);
}

fs::path ChunkStore::path(int64_t index) const { return dir_ / fmt::format("{}_{:06d}.h5", prefix_, index); }

void ChunkStore::write(int64_t index, const std::function<void(H5::H5File&)>& fill) const {
  if (!writes_) return;
  io::write_h5_atomic(path(index), format_, BLOCKSPIN_VERSION, fill);
}

H5::H5File ChunkStore::open(int64_t index) const { return io::open_h5(path(index), format_); }

int64_t ChunkStore::count_present() const {
  int64_t n = 0;
  if (writes_)
    while (fs::exists(path(n))) ++n;
  std::vector<torch::Tensor> count{torch::tensor({n}, torch::kLong)};
  communicator().broadcast(count, "the number of chunks");
  return count[0].item<int64_t>();
}

}  // namespace blockspin::run
