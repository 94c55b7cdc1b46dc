// LcnnModel: a sequential L-CNN built from a JSON description (make_model), plus count_parameters.
//
// JSON: {"layers": [...], "sum_sites": bool, "mean_sites": bool, "dims": D (optional)}. Each layer is an object with
// "type" and its keys (required keys in capitals here, the others optional with the default shown):
//   plaq        both_orientations=false, clover_leaves=false    appends the plaquettes to the W channels
//   poly        axes=[all]                      appends Polyakov loops to the W channels
//   lconv       OUT, KERNEL_SIZE, dilation=1, complex_weights=false                       W -> W
//   lbilin      OUT, add_conjugate=true, add_unit=true, complex_weights=false             W -> LBilin(W, W)
//   lconvbilin  OUT, KERNEL_SIZE, dilation=1, add_conjugate=true, add_unit=true, complex_weights=false,
//               conv_channels=0 (0: fused FP-paper parametrisation; c > 0: explicit c-channel L-Conv)       W -> W
//   lact        mode="relu" | "polynomial"                                                W -> W
//   lexp        (none)                          U -> LExp(U, W); W is kept
//   trace       real_part=true, imag_part=false W -> scalars S [B, C, x..]
//   linear      OUT, bias=true                  per-site torch::nn::Linear over the channels of S
// in_channels are inferred from the previous layers. sum_sites / mean_sites reduce the final scalars over channels and
// sites to [B] (e.g. an action). Unknown types or keys, missing keys, wrong value types and layers applied to the wrong
// kind of input throw std::invalid_argument naming the layer index and the key.
// forward(U) returns the output of the last layer (W, S, U for a final lexp), or [B] with sum_sites / mean_sites.
#pragma once

#include "lcnn/lact.h"
#include "lcnn/lbilin.h"
#include "lcnn/lconv.h"
#include "lcnn/lconv_bilin.h"
#include "lcnn/lexp.h"
#include "lcnn/plaq.h"
#include "lcnn/poly.h"
#include "lcnn/trace.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace blockspin::lcnn {

class LcnnModelImpl : public torch::nn::Module {
 public:
  /// Builds the network for D = `dims` space-time dimensions (spec["dims"], if present, must agree; dims <= 0 means
  /// "take it from spec").
  LcnnModelImpl(const nlohmann::json& spec, int64_t dims = 0);
  torch::Tensor forward(const torch::Tensor& U);

  enum class Kind { Plaq, Poly, LConv, LBilin, LConvBilin, LAct, LExp, Trace, Linear };
  enum class Reduce { None, Sum, Mean };
  int64_t dims() const { return dims_; }
  /// Built on Plaq's reflection_characters: the per-site output is reflection-covariant (lcnn/reflection_characters.h).
  bool reflection_characters() const { return reflection_characters_; }
  /// Layer kinds and modules in order (module names "0", "1", ...).
  const std::vector<Kind>& kinds() const { return kinds_; }
  const std::vector<std::shared_ptr<torch::nn::Module>>& layers() const { return layers_; }

 private:
  int64_t dims_ = 0;
  Reduce reduce_ = Reduce::None;
  bool reflection_characters_ = false;
  std::vector<Kind> kinds_;
  std::vector<std::shared_ptr<torch::nn::Module>> layers_;
};
TORCH_MODULE(LcnnModel);

/// Builds an LcnnModel from its JSON description (see the file comment).
LcnnModel make_model(const nlohmann::json& spec, int64_t dims = 0);

/// Total number of scalar trainable parameters (complex weights count twice: real and imaginary part).
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace blockspin::lcnn
