// Which implementation the hot lattice operations use (see mode.h).
#include "lattice/kernels/mode.h"

#include <atomic>
#include <stdexcept>

namespace blockspin::lattice::kernels {

namespace {
std::atomic<Mode> current{Mode::fused};
}  // namespace

Mode mode() { return current.load(); }
void set_mode(Mode m) { current.store(m); }

Mode mode_from_name(const std::string& name) {
  if (name == "fused") return Mode::fused;
  if (name == "torch") return Mode::torch;
  throw std::invalid_argument("unknown kernel mode '" + name + "' (expected fused or torch)");
}

}  // namespace blockspin::lattice::kernels
