// Per-site channel products of matrix fields in lane planes, Σ op(X_i(x)) op(Y_j(x)) over a grid of channel pairs,
// as a differentiable op (its backward is the same op with other patterns, so derivatives of any order work): the
// bilinear L-CNN layer's Σ_k A_k C_ok without N × N batched GEMMs or layout copies of C.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "lattice/kernels/channel_products_lanes.h"

namespace blockspin::lattice::kernels {

using lanes::ChannelIndex;
using lanes::ChannelPattern;

/// Whether channel_products can run on a complex matrix field like W: CPU, complex64/complex128, N = 2 or 3.
bool channel_products_available(const torch::Tensor& W);

/// A complex matrix field [B, C, x.., N, N] as real blocked planes [B, C, n_blocks, 2N², W] (W = 64 bytes of the
/// real dtype; the V sites zero-padded to n_blocks · W; plane 2q + part holds component q, row-major, real or
/// imaginary part); differentiable.
torch::Tensor to_planes(const torch::Tensor& W);

/// The inverse of to_planes: blocked planes to a complex field of shape [B, C, x.., N, N]; differentiable.
torch::Tensor from_planes(const torch::Tensor& planes, at::IntArrayRef shape);

/// R_r = Σ_{(o,k) → r} op_X(X_{x(o,k)}) op_Y(Y_{y(o,k)}) per site and configuration (channel_products_lanes.h), on
/// blocked planes X [B, Cx, n, 2N², W], Y [B, Cy, n, 2N², W] of one dtype with the pattern's channel counts -> R;
/// op = † where dag_x / dag_y. Gradients in torch's convention for complex data (the planes' real and imaginary parts
/// as one complex gradient; for Z = P Q: P gets G Q†, Q gets P† G).
torch::Tensor channel_products(const torch::Tensor& X, const torch::Tensor& Y, const ChannelPattern& pattern,
                               bool dag_x, bool dag_y);

/// The same on complex matrix fields X [B, Cx, x.., N, N], Y [B, Cy, x.., N, N] -> [B, Cr, x.., N, N]: the lane kernel
/// through to_planes/from_planes where it runs (CPU, N = 2/3, kernels "fused"), otherwise the torch statement (both
/// operands broadcast on the (o, k) grid, one batched matrix product, the sum over the missing index).
torch::Tensor channel_products_field(const torch::Tensor& X, const torch::Tensor& Y, const ChannelPattern& pattern,
                                     bool dag_x, bool dag_y);

}  // namespace blockspin::lattice::kernels
