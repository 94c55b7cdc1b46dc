// BaselineCnn: a plain (not gauge-equivariant) CNN on the raw link components — the PRL's contrast to the L-CNN.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace blockspin::lcnn {

struct BaselineCnnOptions {
  BaselineCnnOptions(int64_t dims, int64_t group_n, int64_t out) : dims_(dims), group_n_(group_n), out_(out) {}
  TORCH_ARG(int64_t, dims);                            ///< D = 2 or 3 (torch has Conv2d/Conv3d)
  TORCH_ARG(int64_t, group_n);                         ///< N of SU(N)
  TORCH_ARG(int64_t, out);                             ///< output channels per site
  TORCH_ARG(std::vector<int64_t>, hidden) = {32, 32};  ///< channels of the hidden convolutions
  TORCH_ARG(int64_t, kernel_size) = 3;                 ///< odd; periodic ("circular") padding keeps the lattice size
};

/// The gauge field as ordinary real image channels: [B, D, x.., N, N] complex -> [B, 2 D N², x..] (Re, then Im of
/// every link entry). This is exactly the "raw data" input of a non-equivariant network.
torch::Tensor links_as_channels(const torch::Tensor& U);

/// Conv(2 D N² -> hidden[0]) -> tanh -> ... -> Conv(hidden[-1] -> out), all with kernel size K and periodic padding,
/// so the network is translation equivariant and runs on any lattice size — but it is not gauge equivariant.
/// forward(U [B, D, x.., N, N]) -> [B, out, x..] in U's real dtype; computed in the parameters' dtype (double unless
/// the module is moved with to()).
class BaselineCnnImpl : public torch::nn::Cloneable<BaselineCnnImpl> {
 public:
  explicit BaselineCnnImpl(const BaselineCnnOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& U);
  BaselineCnnOptions options;

 private:
  std::vector<torch::nn::AnyModule> convs_;
};
TORCH_MODULE(BaselineCnn);

}  // namespace blockspin::lcnn
