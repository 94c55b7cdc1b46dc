// Numbers for people: a value with its error in the field's notation, 0.89817(26).
#pragma once

#include <string>

namespace blockspin::support {

/// `value(error)` with the error's two significant digits in units of the value's last digit: 0.898172 ± 0.000258
/// -> "0.89817(26)", 1.234e-5 ± 1.2e-6 -> "1.23(12)e-05", 1234.4 ± 25 -> "1234(25)". A zero, negative or non-finite
/// error gives "value ± error" with 6 significant digits.
std::string with_error(double value, double error);

}  // namespace blockspin::support
