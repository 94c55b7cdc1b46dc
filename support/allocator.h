// The heap allocator's settings for tensor workloads: keep freed memory for reuse instead of returning it to the OS.
//
// Why (measured, docs/results.md "Allocator"): with glibc's defaults every large tensor is a fresh mmap and its pages
// fault in on first touch; on the 2-vCPU VMs here a page fault costs enough that an L-CNN training step spent a third
// of its time in the kernel and ran 4-5x slower (plain PyTorch likewise). Settings: M_MMAP_THRESHOLD 1 GiB (smaller
// blocks come from the heap), M_TRIM_THRESHOLD −1 (the heap is never trimmed: a process keeps its peak, as PyTorch's
// CUDA caching allocator does), M_TOP_PAD 64 MiB. A trim threshold of 1 GiB was not enough: a flow training step whose
// graph peaks above it (φ⁴ 4x4 → 16x16, batch 64: 2.3 GB) returned the heap at every step and faulted it back in —
// 2.4 M page faults and 14.5 s of system time in a 34.5 s run; never trimming: 0.56 M, 3.5 s, 11.9 s.
#pragma once

namespace blockspin::support {

/// Applies the settings above once per process (glibc only; elsewhere a no-op). A user who sets
/// MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or MALLOC_TOP_PAD_, or BLOCKSPIN_DEFAULT_MALLOC=1, keeps their own.
/// Returns whether the settings were applied.
bool tune_allocator();

}  // namespace blockspin::support
