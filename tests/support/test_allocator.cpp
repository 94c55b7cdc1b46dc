// The allocator settings every blockspin program starts with (support/allocator.h).
#include "support/allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <malloc.h>

namespace {

bool user_overrides() {
  for (const char* v :
       {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "BLOCKSPIN_DEFAULT_MALLOC"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

// Linked through blockspin_startup, the settings are in force before main(): a 16 MiB block (above glibc's default
// mmap threshold of 128 KiB .. 32 MiB after growth) comes from the heap, not from a fresh mmap.
TEST(Allocator, LargeBlocksComeFromTheHeap) {
  if (user_overrides()) GTEST_SKIP() << "the environment sets its own malloc parameters";
  EXPECT_TRUE(blockspin::support::tune_allocator());
  const auto before = mallinfo2().hblks;
  void* p = std::malloc(16u << 20);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(mallinfo2().hblks, before) << "a 16 MiB block was mmapped: the allocator settings are not applied";
  std::free(p);
}

}  // namespace
