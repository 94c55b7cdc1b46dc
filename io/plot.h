// Plots of run results via gnuplot: a data file and a .gp script are always written (so a person can re-plot),
// and the PNG is rendered when gnuplot is installed.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace blockspin::io {

/// One curve: a title and (x, y) points, optionally with error bars (err empty, or one per point).
struct PlotSeries {
  std::string title;
  std::vector<double> x, y;
  std::vector<double> err{};
};

struct PlotSpec {
  std::string title, xlabel, ylabel;
  bool log_y = false;
  bool points = false;  ///< points instead of lines (scatter plots)
  std::string extra;    ///< extra gnuplot commands (e.g. "set key left top")
};

/// Writes STEM.dat (one gnuplot index block per series: x y [err]) and STEM.gp next to it, then runs gnuplot to
/// produce STEM.png. Series with errors are drawn with error bars.
/// Returns true if the PNG was made; a missing gnuplot or a failing one only logs a warning naming the script.
bool plot(const std::filesystem::path& stem, const PlotSpec& spec, const std::vector<PlotSeries>& series);

}  // namespace blockspin::io
