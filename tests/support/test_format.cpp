// Tests of the value(error) notation against hand-written cases.
#include "support/format.h"

#include <gtest/gtest.h>

namespace blockspin::support {
namespace {

TEST(WithError, TwoSignificantDigitsOfTheError) {
  EXPECT_EQ(with_error(0.898172, 0.000258), "0.89817(26)");
  EXPECT_EQ(with_error(0.5490290, 0.000412), "0.54903(41)");
  EXPECT_EQ(with_error(-1.5, 0.25), "-1.50(25)");
  EXPECT_EQ(with_error(1234.4, 25), "1234(25)");
}

TEST(WithError, RoundingIntoAThirdDigitMovesOnePlace) { EXPECT_EQ(with_error(0.1234, 0.00996), "0.123(10)"); }

TEST(WithError, SmallValuesAreNotPrintedAsZero) {
  EXPECT_EQ(with_error(1.234e-5, 1.2e-6), "1.23(12)e-05");
  EXPECT_EQ(with_error(4e-4, 8e-4), "0.00040(80)");  // smaller than its error: fixed point
}

TEST(WithError, DegenerateErrors) {
  EXPECT_EQ(with_error(1.0, 0.0), "1 ± 0");
  EXPECT_EQ(with_error(0.5, std::nan("")), "0.5 ± nan");
}

}  // namespace
}  // namespace blockspin::support
