// Shared by the gauge-file tests: a temporary directory removed at the end, whole-file read and write.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <system_error>

namespace blockspin::io::testing {

/// Complex double options on the CPU: files are read and written from host memory.
inline torch::TensorOptions cpu_cplx() { return torch::TensorOptions().dtype(torch::kComplexDouble); }

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "blockspin_io_")
      : path(std::filesystem::temp_directory_path() / (prefix + std::to_string(std::random_device{}()))) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void dump(const std::filesystem::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

}  // namespace blockspin::io::testing
