// Reflection characters of L-CNN channels and the weight projection that makes a layer reflection-equivariant.
#include "lcnn/reflection_characters.h"

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
  return {C, S, swap};
}

}  // namespace blockspin::lcnn
