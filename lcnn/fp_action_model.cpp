// The learned fixed-point action model (see fp_action_model.h).
#include "lcnn/fp_action_model.h"

#include "lattice/gauge_action.h"
#include "lattice/gauge_field.h"
#include "lattice/hypercubic.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/paths.h"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace blockspin::lcnn {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("fp_action model: " + what); }

// "a", "b" or "c"
std::string quoted_alternatives(const std::vector<std::string>& choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i)
    out += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + ("\"" + choices[i] + "\"");
  return out;
}

void check_choice(const std::string& key, const std::string& value, const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), value) == choices.end())
    fail("key '" + key + "': expected " + quoted_alternatives(choices) + ", got \"" + value + "\"");
}

}  // namespace

const std::vector<std::string>& symmetrise_choices() {
  static const std::vector<std::string> choices{"none", "reflections", "hypercubic"};
  return choices;
}

FpActionModelImpl::FpActionModelImpl(const FpActionModelOptions& o) : options(o) {
  check_choice("prefactor", o.prefactor(), {"none", "wilson", "wilson_clover"});
  if (o.degree() < 0 || o.degree() > 8) fail("key 'degree': expected 0..8, got " + std::to_string(o.degree()));
  if (!(o.positive_softness() >= 0.0))
    fail("key 'positive_softness': expected a number >= 0, got " + std::to_string(o.positive_softness()));
  check_choice("symmetrise", o.symmetrise(), symmetrise_choices());
  if (o.positive_softness() > 0.0 && o.prefactor() == "none")
    fail("key 'positive_softness': needs prefactor \"wilson\" or \"wilson_clover\" (A >= 0 comes from s_W >= 0)");
  const auto& net = o.network();
  if (!net.is_object()) fail("key 'network': expected an object with 'layers'");
  if (net.contains("sum_sites") || net.contains("mean_sites"))
    fail("key 'network': no sum_sites/mean_sites (the model sums over the sites itself)");
  body = register_module("body", make_model(net, o.dims()));
  // The body must end in one scalar per site: probe it on the smallest lattice.
  torch::NoGradGuard no_grad;
  const std::vector<int64_t> one(static_cast<size_t>(o.dims()), 1);
  const auto probe =
      body->forward(lattice::cold_gauge_field(1, one, 3, torch::TensorOptions().dtype(torch::kComplexDouble)));
  if (probe.is_complex() || probe.dim() != o.dims() + 2 || probe.size(1) != 1)
    fail(
        "key 'network': the last layer must give one real scalar per site (trace with 1 channel or linear with "
        "out = 1)");
  if (o.prefactor() == "wilson" && body->reflection_characters())
    fail(
        "key 'prefactor': \"wilson\" pairs the plaquettes based at x with the body's output at x, which a reflection "
        "does not keep; a body on reflection characters needs \"wilson_clover\"");
  if (o.prefactor() != "none") {
    auto c = torch::zeros({o.degree() + 1}, torch::kDouble);
    c[0] = o.beta_init();
    coefficients = register_parameter("coefficients", c);
  }
}

torch::Tensor FpActionModelImpl::site_readout(const torch::Tensor& U) { return body->forward(U).select(1, 0); }

torch::Tensor FpActionModelImpl::forward(const torch::Tensor& U) {
  if (options.symmetrise() == "none") return unsymmetrised(U);
  lattice::check_gauge_field(U, "FpActionModel input");
  const int64_t D = options.dims();
  const int64_t G = options.symmetrise() == "reflections" ? int64_t{1} << D : lattice::hypercubic_group_size(D);
  const int64_t B = U.size(0);
  // Element-major copies [G·B, ...]: copy k·B + b is configuration b seen through element k (the reflections are the
  // first 2^D elements, lattice::hypercubic_element).
  std::vector<lattice::HypercubicElement> elements;
  elements.reserve(static_cast<size_t>(G * B));
  for (int64_t k = 0; k < G; ++k)
    for (int64_t b = 0; b < B; ++b) elements.push_back(lattice::hypercubic_element(D, k));
  auto shape = U.sizes().vec();
  shape.insert(shape.begin(), G);
  auto flat = U.sizes().vec();
  flat[0] = G * B;
  const auto copies = U.unsqueeze(0).expand(shape).reshape(flat);
  return unsymmetrised(lattice::hypercubic_transform_batch(copies, elements)).view({G, B}).mean(0);
}

torch::Tensor FpActionModelImpl::unsymmetrised(const torch::Tensor& U) {
  lattice::check_gauge_field(U, "FpActionModel input");
  const int64_t B = U.size(0);
  if (options.prefactor() == "none") {
    // The unit configuration as one more batch entry: its readout goes through the same kernels as U's.
    auto shape = U.sizes().vec();
    shape[0] = 1;
    const auto unit = lattice::identity_like(U).expand(shape);
    const auto r = site_readout(torch::cat({U, unit}, 0)).flatten(1);  // [B + 1, V]
    return (r.narrow(0, 0, B) - r.narrow(0, B, 1)).sum(1);
  }
  const auto r = site_readout(U).flatten(1);  // [B, V]
  const auto c = coefficients.to(r.scalar_type());
  torch::Tensor poly = c[options.degree()].expand_as(r);
  for (int64_t k = options.degree() - 1; k >= 0; --k) poly = poly * r + c[k];  // Horner
  if (const double tau = options.positive_softness(); tau > 0.0)  // τ log(1 + e^{y/τ}); linear beyond y/τ > 30
    poly = torch::nn::functional::softplus(
        poly, torch::nn::functional::SoftplusFuncOptions().beta(1.0 / tau).threshold(30.0));
  const double N = static_cast<double>(lattice::n_colors(U));
  torch::Tensor s;
  if (options.prefactor() == "wilson") {
    s = lattice::GaugeAction::wilson(N).density(U);  // Σ_{μ<ν} (N − Re Tr P_μν(x)) per site
  } else {  // the clover average: each plaquette's N − Re Tr P shared by its four corners
    for (const auto& [mu, nu] : lattice::planes(lattice::n_dims(U))) {
      const auto d = N - lattice::re_trace(lattice::plaquette_field(U, mu, nu)).select(1, 0);  // [B, x..]
      const auto dm = torch::roll(d, 1, 1 + mu);
      const auto q = 0.25 * (d + dm + torch::roll(d, 1, 1 + nu) + torch::roll(dm, 1, 1 + nu));
      s = s.defined() ? s + q : q;
    }
  }
  return (s.flatten(1) * poly).sum(1);
}

FpActionModel make_fp_action_model(const nlohmann::json& spec) {
  if (!spec.is_object()) fail("expected a JSON object");
  static const std::set<std::string> keys{"network",           "dims",      "prefactor", "degree", "beta_init",
                                          "positive_softness", "symmetrise"};
  for (const auto& item : spec.items())
    if (!keys.count(item.key())) fail("unknown key '" + item.key() + "'");
  if (!spec.contains("network")) fail("missing key 'network'");
  FpActionModelOptions o(spec.at("network"));
  try {
    if (spec.contains("dims")) o.dims(spec.at("dims").get<int64_t>());
    if (spec.contains("prefactor")) o.prefactor(spec.at("prefactor").get<std::string>());
    if (spec.contains("degree")) o.degree(spec.at("degree").get<int64_t>());
    if (spec.contains("beta_init")) o.beta_init(spec.at("beta_init").get<double>());
    if (spec.contains("positive_softness")) o.positive_softness(spec.at("positive_softness").get<double>());
    if (spec.contains("symmetrise")) o.symmetrise(spec.at("symmetrise").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("a key has the wrong type (dims, degree: integer; prefactor, symmetrise: string; "
                     "beta_init, positive_softness: number): ") +
         e.what());
  }
  return FpActionModel(o);
}

}  // namespace blockspin::lcnn
