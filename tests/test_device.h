// The device the device-agnostic unit tests run on: BLOCKSPIN_TEST_DEVICE (cpu, cuda, cuda:N; default cpu). The GPU
// check (benchmarks/gpu_check.sh) runs the suites with BLOCKSPIN_TEST_DEVICE=cuda.
#pragma once

#include <torch/torch.h>

#include <cstdlib>
#include <string>

namespace blockspin::testing {

inline torch::Device device() {
  static const torch::Device d = [] {
    const char* name = std::getenv("BLOCKSPIN_TEST_DEVICE");
    return torch::Device(name != nullptr && *name != '\0' ? std::string(name) : std::string("cpu"));
  }();
  return d;
}

}  // namespace blockspin::testing

/// First statement of a test of the CPU kernels (lattice/kernels: fused loops over CPU memory): skipped on any other
/// test device, where the kernels are never used and the test would compare the torch path with itself.
#define BLOCKSPIN_CPU_KERNEL_TEST() \
  if (!blockspin::testing::device().is_cpu()) GTEST_SKIP() << "tests the CPU kernels (lattice/kernels)"
