// io/plot: the data file and gnuplot script it writes (columns, error bars, log scale, titles quoted) and the PNG
// when gnuplot is installed (the README's test command installs gnuplot-nox).
#include "io/plot.h"

#include "io_test_helpers.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace {

using namespace blockspin::io;
using blockspin::io::testing::slurp;
using blockspin::io::testing::TempDir;

TEST(Plot, WritesDataScriptAndErrorBars) {
  TempDir dir("blockspin_plot_");
  const auto stem = dir.path / "curves";
  PlotSeries plain{"model \"a\"", {1, 2}, {0.5, 0.25}, {}};
  PlotSeries with_err{"baseline", {1, 2, 3}, {3, 2, 1}, {0.1, 0.2}};  // one error short: the last bar is 0
  const bool png = plot(stem, {"errors per beta", "beta", "error", true, false, ""}, {plain, with_err});
  const auto dat = slurp(dir.path / "curves.dat");
  EXPECT_NE(dat.find("# model \"a\"\n1 0.5\n2 0.25\n\n\n"), std::string::npos) << dat;
  EXPECT_NE(dat.find("# baseline\n1 3 0.1\n2 2 0.2\n3 1 0\n"), std::string::npos) << dat;
  const auto gp = slurp(dir.path / "curves.gp");
  EXPECT_NE(gp.find("set logscale y"), std::string::npos);
  EXPECT_NE(gp.find("set xlabel \"beta\" noenhanced"), std::string::npos) << gp;  // "beta_wil" is no subscript
  EXPECT_NE(gp.find("index 0 using 1:2 with lines lw 2 title \"model \\\"a\\\"\""), std::string::npos) << gp;
  EXPECT_NE(gp.find("index 1 using 1:2:3 with yerrorlines lw 2 title \"baseline\""), std::string::npos) << gp;
  // Scatter plots with errors: bars at points.
  plot(dir.path / "scatter", {"s", "x", "y", false, true, ""}, {with_err});
  EXPECT_NE(slurp(dir.path / "scatter.gp").find("using 1:2:3 with yerrorbars"), std::string::npos);
  const bool have_gnuplot = std::system("command -v gnuplot >/dev/null 2>&1") == 0;
  EXPECT_EQ(png, have_gnuplot);
  EXPECT_EQ(std::filesystem::exists(dir.path / "curves.png"), have_gnuplot);
}

}  // namespace
