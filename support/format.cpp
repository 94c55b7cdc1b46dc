// Numbers for people (see format.h).
#include "support/format.h"

#include <fmt/format.h>

#include <cmath>

namespace blockspin::support {

std::string with_error(double value, double error) {
  if (!std::isfinite(value) || !std::isfinite(error) || !(error > 0))
    return fmt::format("{:.6g} ± {:.2g}", value, error);
  // Scientific notation when the value is large, or small compared to 1 (but not smaller than its error).
  int exp10 = 0;
  const double av = std::fabs(value);
  if (av >= 1e5 || (av > 0 && av < 1e-3 && av >= error)) exp10 = static_cast<int>(std::floor(std::log10(av)));
  const double scale = std::pow(10.0, -exp10);
  const double v = value * scale, e = error * scale;
  int decimals = std::max(0, 1 - static_cast<int>(std::floor(std::log10(e))));
  long long digits = std::llround(e * std::pow(10.0, decimals));
  if (digits >= 100 && decimals > 0) {  // rounding carried into a third digit: 0.00996 -> (10) one place up
    --decimals;
    digits = std::llround(e * std::pow(10.0, decimals));
  }
  std::string out = fmt::format("{:.{}f}({})", v, decimals, digits);
  if (exp10 != 0) out += fmt::format("e{:+03d}", exp10);
  return out;
}

}  // namespace blockspin::support
