// Trace: W objects -> gauge-invariant real scalars Re Tr W (and/or Im Tr W) per channel and site.
#pragma once

#include <torch/torch.h>

namespace blockspin::lcnn {

struct TraceOptions {
  TORCH_ARG(bool, real_part) = true;
  TORCH_ARG(bool, imag_part) = false;
};

/// forward(W [B, C, x.., N, N]) -> [B, C', x..] real with C' = C (one part) or 2C (first all Re Tr, then all Im Tr).
/// At least one part must be selected. No parameters.
class TraceImpl : public torch::nn::Cloneable<TraceImpl> {
 public:
  explicit TraceImpl(const TraceOptions& options = {});
  void reset() override {}
  torch::Tensor forward(const torch::Tensor& W);
  int64_t out_channels(int64_t in_channels) const;
  TraceOptions options;
};
TORCH_MODULE(Trace);

}  // namespace blockspin::lcnn
