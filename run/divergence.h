// The NaN/Inf stop of a training run: names the step and the last good checkpoint, which is kept.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace blockspin::run {

class DivergenceGuard {
 public:
  /// `what` names the run in messages ("train-flow", "lcnn"); `checkpoint` is the file that holds the last good
  /// state; `last_good` its step (-1: none written yet); `advice` is appended to the message (e.g. "Lower
  /// training.lr.").
  DivergenceGuard(std::string what, std::filesystem::path checkpoint, int64_t last_good, std::string advice);

  /// Record that the checkpoint now holds step `step`.
  void checkpointed(int64_t step) { last_good_ = step; }
  int64_t last_good() const { return last_good_; }

  /// Throws support::NumericalStop "WHAT: REASON at step STEP; training stopped (the last good checkpoint (step K)
  /// is kept in 'FILE'). ADVICE".
  [[noreturn]] void stop(const std::string& reason, int64_t step) const;
  /// stop() unless `value` is finite.
  void require_finite(double value, const std::string& name, int64_t step) const;
  /// stop() unless every element of every defined tensor is finite.
  void require_finite(const std::vector<torch::Tensor>& tensors, const std::string& name, int64_t step) const;

 private:
  std::string what_, advice_;
  std::filesystem::path checkpoint_;
  int64_t last_good_;
};

}  // namespace blockspin::run
