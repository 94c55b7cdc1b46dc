// Which implementation the hot lattice operations use: the fused kernels (default) or the plain torch path (the
// reference, and the path for devices and dtypes the fused kernels do not cover). Config key `kernels`.
#pragma once

#include <string>

namespace blockspin::lattice::kernels {

enum class Mode { fused, torch };

/// The process-wide choice (default fused).
Mode mode();
void set_mode(Mode m);
/// "fused" or "torch"; anything else throws std::invalid_argument.
Mode mode_from_name(const std::string& name);

/// Sets the mode for a scope (tests, benchmarks) and restores the previous one.
class ModeGuard {
 public:
  explicit ModeGuard(Mode m) : previous_(mode()) { set_mode(m); }
  ~ModeGuard() { set_mode(previous_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  Mode previous_;
};

}  // namespace blockspin::lattice::kernels
