// Terminal progress for long loops: rate, ETA and a caller-supplied status line, logged at most every few seconds.
#pragma once

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace blockspin::support {

class Progress {
 public:
  /// `done` counts work already finished before this process started (e.g. on --resume).
  Progress(std::string what, std::string unit, int64_t total, int64_t done = 0, double interval_seconds = 3.0)
      : what_(std::move(what)),
        unit_(std::move(unit)),
        total_(total),
        start_done_(done),
        interval_(interval_seconds),
        start_(clock::now()),
        last_(start_) {}

  /// Report progress `done` out of total; logs when the interval has passed or the work is complete.
  void update(int64_t done, const std::string& status = "") {
    const auto now = clock::now();
    if (done < total_ && std::chrono::duration<double>(now - last_).count() < interval_) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done - start_done_) / elapsed : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
    spdlog::info("{}: {}/{} {} ({:.1f}%), {:.3g} {}/s, ETA {}{}{}", what_, done, total_, unit_,
                 100.0 * static_cast<double>(done) / static_cast<double>(std::max<int64_t>(total_, 1)), rate, unit_,
                 format_duration(eta), status.empty() ? "" : " | ", status);
  }

  static std::string format_duration(double seconds) {
    const auto s = static_cast<int64_t>(seconds + 0.5);
    if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
    if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
    return fmt::format("{}s", s);
  }

 private:
  using clock = std::chrono::steady_clock;
  std::string what_, unit_;
  int64_t total_, start_done_;
  double interval_;
  clock::time_point start_, last_;
};

}  // namespace blockspin::support
