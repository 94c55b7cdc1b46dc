// The heap allocator's settings for tensor workloads: keep freed memory for reuse instead of returning it to the OS.
//
// Why (measured, docs/results.md "Allocator"): with glibc's defaults every large tensor is a fresh mmap and its pages
// fault in on first touch; on the 2-vCPU VMs here a page fault costs enough that an L-CNN training step spent a third
// of its time in the kernel and ran 4-5x slower (plain PyTorch likewise). Settings: M_MMAP_THRESHOLD 256 MiB (smaller
// blocks come from the heap), M_TRIM_THRESHOLD 1 GiB (freed heap memory is kept up to that much), M_TOP_PAD 64 MiB.
#pragma once

namespace blockspin::support {

/// Applies the settings above once per process (glibc only; elsewhere a no-op). A user who sets
/// MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or MALLOC_TOP_PAD_, or BLOCKSPIN_DEFAULT_MALLOC=1, keeps their own.
/// Returns whether the settings were applied.
bool tune_allocator();

}  // namespace blockspin::support
