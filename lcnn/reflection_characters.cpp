// Reflection characters of L-CNN channels and the weight projection that makes a layer reflection-equivariant.
#include "lcnn/reflection_characters.h"

#include "lcnn/common.h"
#include "lattice/layout.h"

#include <stdexcept>
#include <string>

namespace blockspin::lcnn {

std::vector<int64_t> spread_characters(int64_t n, int64_t dims) {
  std::vector<int64_t> chars(n);
  for (int64_t i = 0; i < n; ++i) chars[i] = i % (int64_t{1} << dims);
  return chars;
}

std::vector<int64_t> plaq_characters(int64_t dims) {
  std::vector<int64_t> chars;
  for (int64_t c = 0; c < 4; ++c)
    for (const auto& [mu, nu] : lattice::planes(dims))
      chars.push_back(((c & 1) ? int64_t{1} << mu : 0) | ((c & 2) ? int64_t{1} << nu : 0));
  return chars;
}

namespace {

CharacterBlocks character_blocks(const std::vector<int64_t>& a_chars, const std::vector<int64_t>& b_chars,
                                 const std::vector<int64_t>& partner, const std::vector<int64_t>& flip,
                                 const std::vector<int64_t>& out_chars, bool add_unit, int64_t dims) {
  const int64_t n_char = int64_t{1} << dims, nB = static_cast<int64_t>(b_chars.size());
  const int64_t n_mat = static_cast<int64_t>(a_chars.size()) - (add_unit ? 1 : 0);
  CharacterBlocks blocks;
  blocks.row_counts.assign(n_char, 0);
  blocks.col_counts.assign(n_char, 0);
  // Columns: a single keeps its character; of a pair, the lower index becomes the sum (the character of the
  // transported channel), the higher one the difference (times the sign of the transport's axis).
  std::vector<std::vector<int64_t>> cols(n_char), rows(n_char);
  for (int64_t w = 0; w < nB; ++w) {
    const bool second = partner[w] >= 0 && partner[w] < w;
    cols[second ? b_chars[w] ^ flip[w] : b_chars[w]].push_back(w);
  }
  for (int64_t i = 0; i < static_cast<int64_t>(out_chars.size()); ++i)
    for (int64_t v = 0; v < n_mat; ++v) rows[out_chars[i] ^ a_chars[v]].push_back(i * n_mat + v);
  std::vector<int64_t> col_order, col_partner, row_order;
  std::vector<double> c1, c2, d1, d2;
  for (int64_t g = 0; g < n_char; ++g) {
    blocks.col_counts[g] = static_cast<int64_t>(cols[g].size());
    blocks.row_counts[g] = static_cast<int64_t>(rows[g].size());
    row_order.insert(row_order.end(), rows[g].begin(), rows[g].end());
    for (auto w : cols[g]) {
      col_order.push_back(w);
      col_partner.push_back(partner[w] >= 0 ? partner[w] : w);
      // B'_w = c1 B_w + c2 B_partner, α'_w = d1 α_w + d2 α_partner: single (1, 0 | 1, 0); sum (1, 1 | ½, ½);
      // difference B_partner − B_w (−1, 1 | −½, ½).
      const int kind = partner[w] < 0 ? 0 : (partner[w] > w ? 1 : 2);
      c1.push_back(kind == 2 ? -1.0 : 1.0);
      c2.push_back(kind == 0 ? 0.0 : 1.0);
      d1.push_back(kind == 0 ? 1.0 : (kind == 1 ? 0.5 : -0.5));
      d2.push_back(kind == 0 ? 0.0 : 0.5);
    }
  }
  const auto longs = [](const std::vector<int64_t>& v) { return torch::tensor(v, torch::kLong); };
  const auto doubles = [](const std::vector<double>& v) { return torch::tensor(v, torch::kDouble); };
  blocks.col_order = longs(col_order);
  blocks.col_partner = longs(col_partner);
  blocks.c1 = doubles(c1), blocks.c2 = doubles(c2), blocks.d1 = doubles(d1), blocks.d2 = doubles(d2);
  blocks.row_order = longs(row_order);
  blocks.row_inverse = torch::argsort(blocks.row_order);
  return blocks;
}

}  // namespace

CharacterProjection conv_bilin_projection(const std::vector<int64_t>& in_characters,
                                          const std::vector<int64_t>& out_characters, int64_t dims, int64_t kernel_size,
                                          bool add_conjugate, bool add_unit) {
  const auto in = static_cast<int64_t>(in_characters.size()), out = static_cast<int64_t>(out_characters.size());
  if (in < 1 || out < 1 || kernel_size < 1) throw std::invalid_argument("conv_bilin_projection: empty layer");
  for (const auto* chars : {&in_characters, &out_characters})
    for (auto c : *chars)
      if (c < 0 || c >= (int64_t{1} << dims))
        throw std::invalid_argument("conv_bilin_projection: character " + std::to_string(c) +
                                    " is not a bit mask over " + std::to_string(dims) + " axes");
  // A side: W_j, W_j†, 1.
  std::vector<int64_t> a_chars(in_characters);
  if (add_conjugate) a_chars.insert(a_chars.end(), in_characters.begin(), in_characters.end());
  if (add_unit) a_chars.push_back(0);
  // B side: the transported stack (offset t major), its daggers, 1. Per entry: character, partner (-1: none), the
  // character the pair's difference adds.
  const int64_t K1 = kernel_size - 1, T = 1 + 2 * dims * K1;
  std::vector<int64_t> b_chars, partner, flip;
  for (int64_t t = 0; t < T; ++t) {
    int64_t pt = -1, mu = -1;
    if (t > 0) {
      const int64_t r = t - 1;
      mu = r / (2 * K1);
      const int64_t within = r % (2 * K1);  // + direction: k - 1; - direction: K1 + k - 1
      pt = 1 + mu * 2 * K1 + (within < K1 ? within + K1 : within - K1);
    }
    for (int64_t j = 0; j < in; ++j) {
      b_chars.push_back(in_characters[j]);
      partner.push_back(pt < 0 ? -1 : pt * in + j);
      flip.push_back(mu < 0 ? 0 : int64_t{1} << mu);
    }
  }
  const auto n_t = static_cast<int64_t>(b_chars.size());
  if (add_conjugate) {
    for (int64_t b = 0; b < n_t; ++b) {
      b_chars.push_back(b_chars[b]);
      partner.push_back(partner[b] < 0 ? -1 : partner[b] + n_t);
      flip.push_back(flip[b]);
    }
  }
  if (add_unit) b_chars.push_back(0), partner.push_back(-1), flip.push_back(0);
  const auto nA = static_cast<int64_t>(a_chars.size()), nB = static_cast<int64_t>(b_chars.size());
  auto C = torch::zeros({out, nA, nB}, torch::kDouble), S = torch::zeros({out, nA, nB}, torch::kDouble);
  auto swap = torch::arange(nB, torch::kLong);
  auto c = C.accessor<double, 3>(), s = S.accessor<double, 3>();
  auto sw = swap.accessor<int64_t, 1>();
  for (int64_t b = 0; b < nB; ++b)
    if (partner[b] >= 0) sw[b] = partner[b];
  for (int64_t i = 0; i < out; ++i) {
    for (int64_t a = 0; a < nA; ++a) {
      for (int64_t b = 0; b < nB; ++b) {
        const int64_t base = a_chars[a] ^ b_chars[b];
        if (partner[b] < 0) {
          c[i][a][b] = out_characters[i] == base ? 1.0 : 0.0;
        } else {
          const double even = out_characters[i] == base ? 1.0 : 0.0;
          const double odd = out_characters[i] == (base ^ flip[b]) ? 1.0 : 0.0;
          // α_± = a ± b with a = (α_+ + α_−)/2 kept by `even`, b = (α_+ − α_−)/2 kept by `odd`: from either entry
          // of the pair, α_eff = (even + odd)/2 · α_self + (even − odd)/2 · α_partner.
          c[i][a][b] = 0.5 * (even + odd);
          s[i][a][b] = 0.5 * (even - odd);
        }
      }
    }
  }
  return {C, S, swap, character_blocks(a_chars, b_chars, partner, flip, out_characters, add_unit, dims)};
}

torch::Tensor block_channel_matmul(const CharacterBlocks& blocks, const torch::Tensor& alpha, const torch::Tensor& X) {
  const auto& b = blocks;
  const auto dev = X.device();
  const auto idx = [&](const torch::Tensor& t) { return t.device() == dev ? t : t.to(dev); };
  const auto col_order = idx(b.col_order), col_partner = idx(b.col_partner);
  const auto coef = [&](const torch::Tensor& t, const torch::Tensor& like) {
    return t.to(torch::TensorOptions().dtype(like.scalar_type()).device(dev));
  };
  // α' and B' in character order; α' rows sorted by their character too.
  const auto a =
      (alpha.index_select(1, col_order) * coef(b.d1, alpha) + alpha.index_select(1, col_partner) * coef(b.d2, alpha))
          .index_select(0, idx(b.row_order));
  const auto cx = [&](const torch::Tensor& c) { return coef(c, X).view({1, -1, 1}); };
  const auto Xr = X.index_select(1, col_order) * cx(b.c1) + X.index_select(1, col_partner) * cx(b.c2);
  std::vector<torch::Tensor> parts;
  int64_t r0 = 0, c0 = 0;
  for (size_t g = 0; g < b.row_counts.size(); ++g) {
    const int64_t nr = b.row_counts[g], nc = b.col_counts[g];
    if (nr > 0 && nc == 0) parts.push_back(torch::zeros({X.size(0), nr, X.size(2)}, X.options()));
    if (nr > 0 && nc > 0) parts.push_back(weight_matmul(a.narrow(0, r0, nr).narrow(1, c0, nc), Xr.narrow(1, c0, nc)));
    r0 += nr;
    c0 += nc;
  }
  return torch::cat(parts, 1).index_select(1, idx(b.row_inverse));
}

}  // namespace blockspin::lcnn
