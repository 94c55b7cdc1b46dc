// Linked into every blockspin program (CMake object library `blockspin_startup`): tunes the heap allocator before
// main() runs, so that the first tensors already come from the tuned heap (support/allocator.h).
#include "support/allocator.h"

namespace {
const bool allocator_tuned = blockspin::support::tune_allocator();
}  // namespace
