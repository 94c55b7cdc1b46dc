// LcnnModel: JSON-configured sequential L-CNN and parameter counting.
#include "lcnn/factory.h"

#include "lattice/layout.h"
#include "lcnn/reflection_characters.h"

#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace blockspin::lcnn {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::invalid_argument("lcnn model spec: " + where + ": " + what);
}

std::string layer_name(size_t index) { return "layer " + std::to_string(index); }

/// spec[key] as T; `required` keys must be present, otherwise `fallback` is returned.
template <typename T>
T get(const json& obj, const std::string& key, const std::string& where, bool required, T fallback = T{}) {
  if (!obj.contains(key)) {
    if (required) fail(where, "missing key '" + key + "'");
    return fallback;
  }
  try {
    return obj.at(key).get<T>();
  } catch (const json::exception& e) {
    fail(where, "key '" + key + "' has the wrong type (" + e.what() + ")");
  }
}

const std::map<std::string, std::set<std::string>>& allowed_keys() {
  static const std::map<std::string, std::set<std::string>> keys{
      {"plaq", {"both_orientations", "clover_leaves", "reflection_characters"}},
      {"poly", {"axes"}},
      {"lconv", {"out", "kernel_size", "dilation", "complex_weights"}},
      {"lbilin", {"out", "add_conjugate", "add_unit", "complex_weights"}},
      {"lconvbilin",
       {"out", "kernel_size", "dilation", "add_conjugate", "add_unit", "complex_weights", "conv_channels",
        "characters"}},
      {"lact", {"mode"}},
      {"lexp", {}},
      {"trace", {"real_part", "imag_part"}},
      {"linear", {"out", "bias"}}};
  return keys;
}

/// A layer's "characters" key (lcnn/reflection_characters.h): "spread" (over all 2^D), "trivial" (all 0) or one
/// character per output channel.
std::vector<int64_t> output_characters(const json& L, int64_t out, int64_t dims, const std::string& at) {
  const auto& v = L.at("characters");
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (s == "spread") return spread_characters(out, dims);
    if (s == "trivial") return std::vector<int64_t>(out, 0);
    fail(at, "key 'characters': expected \"spread\", \"trivial\" or an array of " + std::to_string(out) +
                 " characters (bit masks over the axes), got \"" + s + "\"");
  }
  const auto chars = get<std::vector<int64_t>>(L, "characters", at, true);
  if (static_cast<int64_t>(chars.size()) != out)
    fail(at, "key 'characters': " + std::to_string(chars.size()) + " characters for " + std::to_string(out) +
                 " output channels");
  for (auto c : chars)
    if (c < 0 || c >= (int64_t{1} << dims))
      fail(at, "key 'characters': " + std::to_string(c) + " is not a bit mask over " + std::to_string(dims) + " axes");
  return chars;
}

int64_t positive(int64_t v, const std::string& key, const std::string& where) {
  if (v < 1) fail(where, "key '" + key + "' must be >= 1, got " + std::to_string(v));
  return v;
}

}  // namespace

LcnnModelImpl::LcnnModelImpl(const json& spec, int64_t dims) {
  if (!spec.is_object()) fail("top level", "expected a JSON object");
  for (const auto& item : spec.items())
    if (item.key() != "layers" && item.key() != "sum_sites" && item.key() != "mean_sites" && item.key() != "dims")
      fail("top level", "unknown key '" + item.key() + "'");
  if (spec.contains("dims")) {
    const auto d = get<int64_t>(spec, "dims", "top level", true);
    if (dims > 0 && d != dims)
      fail("top level", "key 'dims' = " + std::to_string(d) + " but D = " + std::to_string(dims) + " was requested");
    dims = d;
  }
  if (dims < 2) fail("top level", "the number of dimensions D >= 2 must be given (argument or key 'dims')");
  dims_ = dims;
  const bool sum = get<bool>(spec, "sum_sites", "top level", false, false);
  const bool mean = get<bool>(spec, "mean_sites", "top level", false, false);
  if (sum && mean) fail("top level", "keys 'sum_sites' and 'mean_sites' are exclusive");
  reduce_ = sum ? Reduce::Sum : mean ? Reduce::Mean : Reduce::None;
  if (!spec.contains("layers") || !spec.at("layers").is_array()) fail("top level", "missing key 'layers' (an array)");

  int64_t w_channels = 0;      // channels of the current W objects (0: none yet)
  int64_t s_channels = 0;      // channels of the current scalars (0: none yet)
  std::vector<int64_t> chars;  // reflection characters of the W channels (empty: not tracked)
  const auto& layers = spec.at("layers");
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& L = layers[i];
    const std::string where = layer_name(i);
    if (!L.is_object()) fail(where, "expected a JSON object");
    const auto type = get<std::string>(L, "type", where, true);
    const auto allowed = allowed_keys().find(type);
    if (allowed == allowed_keys().end()) fail(where, "key 'type': unknown layer type '" + type + "'");
    for (const auto& item : L.items())
      if (item.key() != "type" && !allowed->second.count(item.key()))
        fail(where + " (" + type + ")", "unknown key '" + item.key() + "'");
    const std::string at = where + " (" + type + ")";
    const bool characters = !chars.empty() || (type == "plaq" && get<bool>(L, "reflection_characters", at, false));
    if (characters && type != "plaq" && type != "lconvbilin" && type != "lact" && type != "trace")
      fail(at,
           "layers after plaq's reflection_characters must be lconvbilin, lact or trace (the others do not "
           "keep reflection characters)");
    auto need_w = [&] {
      if (w_channels == 0) fail(at, "needs W objects as input (add a plaq or poly layer first)");
      if (s_channels > 0) fail(at, "cannot follow a trace layer");
    };
    Kind kind;
    std::shared_ptr<torch::nn::Module> module;
    if (type == "plaq") {
      if (s_channels > 0) fail(at, "cannot follow a trace layer");
      if (!chars.empty()) fail(at, "cannot follow plaq's reflection_characters input");
      Plaq m(PlaqOptions()
                 .both_orientations(get<bool>(L, "both_orientations", at, false, false))
                 .clover_leaves(get<bool>(L, "clover_leaves", at, false, false))
                 .reflection_characters(get<bool>(L, "reflection_characters", at, false, false)));
      if (m->options.reflection_characters()) {
        if (w_channels > 0) fail(at, "reflection_characters must be the only input layer");
        if (m->options.clover_leaves() || m->options.both_orientations())
          fail(at, "key 'reflection_characters' excludes 'clover_leaves' and 'both_orientations'");
        chars = plaq_characters(dims);
        reflection_characters_ = true;
      }
      w_channels += m->out_channels(dims);
      kind = Kind::Plaq, module = m.ptr();
    } else if (type == "poly") {
      if (s_channels > 0) fail(at, "cannot follow a trace layer");
      const auto axes = get<std::vector<int64_t>>(L, "axes", at, false, {});
      for (auto a : axes)
        if (a < 0 || a >= dims) fail(at, "key 'axes': axis " + std::to_string(a) + " out of range");
      Poly m(PolyOptions().axes(axes));
      w_channels += m->out_channels(dims);
      kind = Kind::Poly, module = m.ptr();
    } else if (type == "lconv") {
      need_w();
      const auto out = positive(get<int64_t>(L, "out", at, true), "out", at);
      LConv m(LConvOptions(w_channels, out, positive(get<int64_t>(L, "kernel_size", at, true), "kernel_size", at), dims)
                  .dilation(positive(get<int64_t>(L, "dilation", at, false, 1), "dilation", at))
                  .complex_weights(get<bool>(L, "complex_weights", at, false, false)));
      w_channels = out;
      kind = Kind::LConv, module = m.ptr();
    } else if (type == "lbilin") {
      need_w();
      const auto out = positive(get<int64_t>(L, "out", at, true), "out", at);
      LBilin m(LBilinOptions(w_channels, w_channels, out)
                   .add_conjugate(get<bool>(L, "add_conjugate", at, false, true))
                   .add_unit(get<bool>(L, "add_unit", at, false, true))
                   .complex_weights(get<bool>(L, "complex_weights", at, false, false)));
      w_channels = out;
      kind = Kind::LBilin, module = m.ptr();
    } else if (type == "lconvbilin") {
      need_w();
      const auto out = positive(get<int64_t>(L, "out", at, true), "out", at);
      const auto conv_channels = get<int64_t>(L, "conv_channels", at, false, 0);
      if (conv_channels < 0) fail(at, "key 'conv_channels' must be >= 0");
      if (L.contains("characters") != !chars.empty())
        fail(at, chars.empty() ? "key 'characters' needs an input with reflection characters (plaq's "
                                 "reflection_characters)"
                               : "missing key 'characters' (the input has reflection characters)");
      std::vector<int64_t> out_chars;
      if (!chars.empty()) {
        out_chars = output_characters(L, out, dims, at);
        if (conv_channels > 0 || get<bool>(L, "complex_weights", at, false, false))
          fail(at, "key 'characters' needs the fused form (conv_channels 0) and real weights");
      }
      LConvBilin m(LConvBilinOptions(w_channels, out,
                                     positive(get<int64_t>(L, "kernel_size", at, true), "kernel_size", at), dims)
                       .dilation(positive(get<int64_t>(L, "dilation", at, false, 1), "dilation", at))
                       .add_conjugate(get<bool>(L, "add_conjugate", at, false, true))
                       .add_unit(get<bool>(L, "add_unit", at, false, true))
                       .complex_weights(get<bool>(L, "complex_weights", at, false, false))
                       .conv_channels(conv_channels)
                       .in_characters(chars)
                       .out_characters(out_chars));
      w_channels = out;
      chars = out_chars;
      kind = Kind::LConvBilin, module = m.ptr();
    } else if (type == "lact") {
      need_w();
      const auto mode = get<std::string>(L, "mode", at, false, "relu");
      if (mode != "relu" && mode != "polynomial") fail(at, "key 'mode': unknown mode '" + mode + "'");
      if (mode == "relu")
        for (auto c : chars)
          if (c != 0) fail(at, "mode relu on channels with non-trivial reflection characters (use polynomial)");
      LAct m(LActOptions(w_channels).mode(mode).characters(chars));
      kind = Kind::LAct, module = m.ptr();
    } else if (type == "lexp") {
      need_w();
      LExp m(LExpOptions(w_channels, dims));
      kind = Kind::LExp, module = m.ptr();
    } else if (type == "trace") {
      need_w();
      TraceOptions o;
      o.real_part(get<bool>(L, "real_part", at, false, true)).imag_part(get<bool>(L, "imag_part", at, false, false));
      if (!o.real_part() && !o.imag_part()) fail(at, "keys 'real_part'/'imag_part': at least one must be true");
      for (auto c : chars)
        if (c != 0)
          fail(at,
               "the traces of channels with non-trivial reflection characters are odd: give the last lconvbilin "
               "\"characters\": \"trivial\"");
      chars.clear();
      Trace m(o);
      s_channels = m->out_channels(w_channels);
      kind = Kind::Trace, module = m.ptr();
    } else {  // linear
      if (s_channels == 0) fail(at, "needs scalars as input (add a trace layer first)");
      const auto out = positive(get<int64_t>(L, "out", at, true), "out", at);
      torch::nn::Linear m(torch::nn::LinearOptions(s_channels, out).bias(get<bool>(L, "bias", at, false, true)));
      m->to(torch::kDouble);
      s_channels = out;
      kind = Kind::Linear, module = m.ptr();
    }
    kinds_.push_back(kind);
    layers_.push_back(register_module(std::to_string(i), module));
  }
  if (reduce_ != Reduce::None && s_channels == 0)
    fail("top level", "'sum_sites' / 'mean_sites' need scalar outputs (end with trace or linear)");
}

torch::Tensor LcnnModelImpl::forward(const torch::Tensor& U_in) {
  lattice::check_gauge_field(U_in, "LcnnModel input");
  if (lattice::n_dims(U_in) != dims_)
    throw std::invalid_argument("LcnnModel: the gauge field's D differs from the model's");
  torch::Tensor U = U_in, W, S, last = U_in;
  auto append = [&W](const torch::Tensor& X) { return W.defined() ? torch::cat({W, X}, 1) : X; };
  for (size_t i = 0; i < layers_.size(); ++i) {
    auto* m = layers_[i].get();
    switch (kinds_[i]) {
      case Kind::Plaq:
        last = W = append(dynamic_cast<PlaqImpl*>(m)->forward(U));
        break;
      case Kind::Poly:
        last = W = append(dynamic_cast<PolyImpl*>(m)->forward(U));
        break;
      case Kind::LConv:
        last = W = dynamic_cast<LConvImpl*>(m)->forward(U, W);
        break;
      case Kind::LBilin:
        last = W = dynamic_cast<LBilinImpl*>(m)->forward(W, W);
        break;
      case Kind::LConvBilin:
        last = W = dynamic_cast<LConvBilinImpl*>(m)->forward(U, W);
        break;
      case Kind::LAct:
        last = W = dynamic_cast<LActImpl*>(m)->forward(W);
        break;
      case Kind::LExp:
        last = U = dynamic_cast<LExpImpl*>(m)->forward(U, W);
        break;
      case Kind::Trace:
        last = S = dynamic_cast<TraceImpl*>(m)->forward(W);
        break;
      case Kind::Linear: {
        auto* lin = dynamic_cast<torch::nn::LinearImpl*>(m);
        const auto dt = S.scalar_type();
        auto x = S.movedim(1, -1);
        x = torch::nn::functional::linear(x, lin->weight.to(dt),
                                          lin->bias.defined() ? lin->bias.to(dt) : torch::Tensor());
        last = S = x.movedim(-1, 1);
        break;
      }
    }
  }
  if (reduce_ == Reduce::None) return last;
  const auto flat = S.reshape({S.size(0), -1});
  return reduce_ == Reduce::Sum ? flat.sum(1) : flat.sum(1) / static_cast<double>(lattice::volume(U_in));
}

LcnnModel make_model(const json& spec, int64_t dims) { return LcnnModel(spec, dims); }

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(true)) n += p.numel();
  return n;
}

}  // namespace blockspin::lcnn
