// gnuplot-based plots (see plot.h).
#include "io/plot.h"

#include "support/atomic_file.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <sstream>

namespace blockspin::io {

using support::write_file_atomic;

namespace {
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

bool plot(const std::filesystem::path& stem, const PlotSpec& spec, const std::vector<PlotSeries>& series) {
  const auto dat = std::filesystem::path(stem.string() + ".dat");
  const auto gp = std::filesystem::path(stem.string() + ".gp");
  const auto png = std::filesystem::path(stem.string() + ".png");
  std::ostringstream d;
  for (size_t s = 0; s < series.size(); ++s) {
    d << "# " << series[s].title << "\n";
    const bool err = !series[s].err.empty();
    for (size_t i = 0; i < series[s].x.size() && i < series[s].y.size(); ++i) {
      d << fmt::format("{:.10g} {:.10g}", series[s].x[i], series[s].y[i]);
      if (err) d << fmt::format(" {:.10g}", i < series[s].err.size() ? series[s].err[i] : 0.0);
      d << "\n";
    }
    d << "\n\n";
  }
  write_file_atomic(dat, d.str());

  std::ostringstream g;
  g << "# Re-plot with: gnuplot " << gp.filename().string() << " (run in this directory)\n";
  g << "set terminal pngcairo size 900,600 enhanced font 'sans,11'\n";
  g << "set output " << quoted(png.filename().string()) << "\n";
  g << "set title " << quoted(spec.title) << " noenhanced\n";
  g << "set xlabel " << quoted(spec.xlabel) << " noenhanced\nset ylabel " << quoted(spec.ylabel) << " noenhanced\n";
  g << "set grid\nset key noenhanced\n";
  if (spec.log_y) g << "set logscale y\nset format y '10^{%L}'\n";
  if (!spec.extra.empty()) g << spec.extra << "\n";
  g << "plot ";
  for (size_t s = 0; s < series.size(); ++s) {
    const bool err = !series[s].err.empty();
    g << (s ? ", \\\n     " : "") << quoted(dat.filename().string()) << " index " << s
      << (err ? " using 1:2:3 with " : " using 1:2 with ")
      << (spec.points ? (err ? "yerrorbars pt 7 ps 0.4" : "points pt 7 ps 0.4")
                      : (err ? "yerrorlines lw 2" : "lines lw 2"))
      << " title " << quoted(series[s].title);
  }
  g << "\n";
  write_file_atomic(gp, g.str());

  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    spdlog::warn("gnuplot not found: wrote {} (run it with gnuplot to get {})", gp.string(), png.filename().string());
    return false;
  }
  const std::string cmd =
      "cd " + quoted(gp.parent_path().string()) + " && gnuplot " + quoted(gp.filename().string()) + " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0 || !std::filesystem::exists(png)) {
    spdlog::warn("gnuplot failed on {}; the data and script are kept", gp.string());
    return false;
  }
  return true;
}

}  // namespace blockspin::io
