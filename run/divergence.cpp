// The NaN/Inf stop of a training run (see divergence.h).
#include "run/divergence.h"

#include "support/errors.h"

#include <fmt/format.h>

#include <cmath>

namespace blockspin::run {

DivergenceGuard::DivergenceGuard(std::string what, std::filesystem::path checkpoint, int64_t last_good,
                                 std::string advice)
    : what_(std::move(what)), advice_(std::move(advice)), checkpoint_(std::move(checkpoint)), last_good_(last_good) {}

void DivergenceGuard::stop(const std::string& reason, int64_t step) const {
  const std::string kept = last_good_ >= 0 ? fmt::format("the last good checkpoint (step {}) is kept in '{}'",
                                                         last_good_, checkpoint_.string())
                                           : std::string("no checkpoint was written yet");
  throw support::NumericalStop(fmt::format("{}: {} at step {}; training stopped ({}).{}{}", what_, reason, step, kept,
                                           advice_.empty() ? "" : " ", advice_));
}

void DivergenceGuard::require_finite(double value, const std::string& name, int64_t step) const {
  if (!std::isfinite(value)) stop(fmt::format("non-finite {} ({})", name, value), step);
}

void DivergenceGuard::require_finite(const std::vector<torch::Tensor>& tensors, const std::string& name,
                                     int64_t step) const {
  for (const auto& t : tensors)
    if (t.defined() && !torch::isfinite(t).all().item<bool>()) stop("non-finite " + name, step);
}

}  // namespace blockspin::run
