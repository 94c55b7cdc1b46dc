// Naive b = 2 upsampling U (Eqs. 17–18), its left inverse U† (block average) and the log-density term of Eq. 18.
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
//
// U copies every coarse site x into the 2^D fine sites 2x + p, p ∈ {0,1}^D (its block B). J_U is V_c^T-shaped with
// J_U^T J_U = 2^D · 1, so Eq. (15) gives log p_U(ψ) = log p_L(φ) − ½ V_c log(2^D) (Eq. 18), a density on the
// V_c-dimensional image of U. U† averages each block, U† ∘ U = 1, and U† also inverts N ∘ U since the block noise
// sums to zero per block (Eq. 21). Fields [batch, x..] of any D >= 1, any dtype/device; all ops differentiable.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace blockspin::flows {

/// ψ = U(φ): [batch, L_0, .., L_{D−1}] -> [batch, 2L_0, .., 2L_{D−1}], ψ_{2x+p} = φ_x.
torch::Tensor upsample(const torch::Tensor& phi);
/// φ = U†(ψ): mean over every 2^D block, [batch, 2L..] -> [batch, L..]. Throws unless every extent is even.
torch::Tensor block_average(const torch::Tensor& psi);
/// ψ − U(U†(ψ)): the part of ψ that sums to zero in every block.
torch::Tensor block_zero_sum_part(const torch::Tensor& psi);
/// The Eq. (18) term log p_U(ψ) − log p_L(φ) = −½ V_c log(2^D) for V_c coarse sites in D dimensions.
double upsample_log_density_term(int64_t coarse_volume, int64_t dims);

}  // namespace blockspin::flows
