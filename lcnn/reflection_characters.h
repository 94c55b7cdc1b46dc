// Reflection characters: L-CNN channels that transform in one-dimensional representations of the axis reflections.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace blockspin::lcnn {

// The 2^D reflections x_μ → −x_μ of a periodic lattice form an abelian group, Z_2^D, whose irreducible
// representations are its characters χ(r) = (−1)^{χ·r}: a character is a bit mask over the axes (bit μ set: the
// channel changes sign under the reflection of axis μ). A channel with character χ holds a field W with
// W(x) → (−1)^{χ_μ} W(P_μ x) under the reflection P_μ (gauge-covariantly, at the reflected site). Products of channels
// multiply characters (XOR of the masks); W† keeps the character of W; the trace of a channel with a non-trivial
// character is odd, so only trivial-character traces enter an invariant action. Built this way, an L-CNN action is
// exactly invariant under all 2^D reflections at the cost of the plain network (no average over the group): the
// constraint is on the weights, not the width.

/// Characters for `n` channels spread over all 2^D: channel i gets i mod 2^D.
std::vector<int64_t> spread_characters(int64_t n, int64_t dims);

/// The characters of Plaq's reflection_characters output (lcnn/plaq.h): for c = a + 2b in 0..3, then for every plane
/// (μ, ν) in lattice::planes(D) order, χ = a·2^μ + b·2^ν.
std::vector<int64_t> plaq_characters(int64_t dims);

/// The block structure the projection gives the contraction Y_{(i,v)} = Σ_w α_eff[i, v, w] B_w (LBilin with A the
/// smaller input; rows r = i·n_mat + v over A without its unit): with every ± transport pair of B rotated to its sum
/// and difference (B'_w = c1_w B_w + c2_w B_partner(w), α'_w = d1_w α_w + d2_w α_partner(w), Σ_w α'_w B'_w = Σ_w α_w
/// B_w), every column of B' has one character, and row r only meets the columns of character χ_out[i] ⊕ χ_A[v]. Rows
/// and columns sorted by that character make α' block diagonal: 2^D GEMMs of ~1/2^D of the dense one's size.
struct CharacterBlocks {
  torch::Tensor col_order, col_partner;  ///< long [n_B]: the columns by character; each one's pair partner (or itself)
  torch::Tensor c1, c2, d1, d2;          ///< double [n_B], in col_order: the rotation of B (c) and of α (d)
  torch::Tensor row_order, row_inverse;  ///< long [rows]: the rows by character, and back
  std::vector<int64_t> row_counts, col_counts;  ///< per character 0..2^D-1
};

/// conv_bilin_projection's result: the projection (C, S, swap) and its block structure.
struct CharacterProjection {
  torch::Tensor C, S, swap;
  CharacterBlocks blocks;
};

/// Y = α X for X [batch, n_B, R] (real or complex) and α [rows, n_B] a projected weight (rows r = i·n_mat + v), by the
/// blocks: the same product as weight_matmul(α, X) up to rounding, since α vanishes outside them; differentiable to any
/// order.
torch::Tensor block_channel_matmul(const CharacterBlocks& blocks, const torch::Tensor& alpha, const torch::Tensor& X);

/// The projection of an LConvBilin's bilinear weights α [out, n_A, n_B] onto the reflection-equivariant subspace:
/// α_eff = C ⊙ α + S ⊙ α[:, :, swap]. A = [W, W†, 1] with W's characters; B = [T, T†, 1] with T the transported stack
/// (lcnn/common.h transported_stack: offset t major, channel j minor). A transport by +k along μ and the one by −k
/// form a pair whose sum has the character of W_j and whose difference has that character times the sign of axis μ:
/// on a pair, α_± = a ± b with a kept where χ_out = χ_A ⊕ χ_j and b kept where χ_out = χ_A ⊕ χ_j ⊕ 2^μ; elsewhere α is
/// kept where χ_out = χ_A ⊕ χ_B and zeroed otherwise. Idempotent; C, S: [out, n_A, n_B] double, swap: [n_B] long.
CharacterProjection conv_bilin_projection(const std::vector<int64_t>& in_characters,
                                          const std::vector<int64_t>& out_characters, int64_t dims, int64_t kernel_size,
                                          bool add_conjugate, bool add_unit);

}  // namespace blockspin::lcnn
