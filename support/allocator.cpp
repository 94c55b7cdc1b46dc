// Heap allocator settings for tensor workloads (see allocator.h).
#include "support/allocator.h"

#include <cstdlib>
#include <string_view>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace blockspin::support {

bool tune_allocator() {
#if defined(__GLIBC__)
  static const bool applied = [] {
    for (const char* v : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"})
      if (std::getenv(v) != nullptr) return false;
    if (const char* d = std::getenv("BLOCKSPIN_DEFAULT_MALLOC"); d != nullptr && std::string_view(d) == "1")
      return false;
    bool ok = mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1;
    ok = mallopt(M_TRIM_THRESHOLD, -1) == 1 && ok;  // never trim
    ok = mallopt(M_TOP_PAD, 64 << 20) == 1 && ok;
    return ok;
  }();
  return applied;
#else
  return false;
#endif
}

}  // namespace blockspin::support
