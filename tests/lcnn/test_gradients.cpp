// Tests of L-CNN gradients: weights and links against finite differences, and double backward through link derivatives.
#include "lcnn/factory.h"
#include "test_lcnn_helpers.h"

#include "lattice/derivatives.h"

namespace blockspin::lcnn::testing {
namespace {

using json = nlohmann::json;

/// A small network with every parametrised layer (smooth activations only, so finite differences are valid).
LcnnModel small_action_model(int64_t D, uint64_t seed) {
  seed_weights(seed);
  auto model = make_model(json::parse(R"({"layers": [{"type": "plaq"},
      {"type": "lconvbilin", "out": 3, "kernel_size": 2},
      {"type": "lact", "mode": "polynomial"},
      {"type": "lexp"},
      {"type": "lconv", "out": 2, "kernel_size": 2, "complex_weights": true},
      {"type": "lbilin", "out": 2},
      {"type": "trace"}, {"type": "linear", "out": 1}], "sum_sites": true})"),
                          D);
  torch::NoGradGuard ng;
  for (auto& p : model->named_parameters(true))
    if (p.key().find("beta") != std::string::npos || p.key().find("coefficients") != std::string::npos)
      p.value().add_(0.2 * torch::randn_like(p.value()));
  model->to(device());  // after drawing the weights on the CPU: the same network on every device
  return model;
}

double eval(LcnnModel& model, const torch::Tensor& U) {
  torch::NoGradGuard ng;
  return model(U).sum().item<double>();
}

TEST(Gradients, WeightGradientsMatchFiniteDifferences) {
  const Geometry g{{4, 3}, 3};
  const auto U = rough_field(g, 401);
  auto model = small_action_model(2, 402);
  model->zero_grad();
  model(U).sum().backward();
  const double h = 1e-5;
  int checked = 0;
  for (auto& p : model->named_parameters(true)) {
    ASSERT_TRUE(p.value().grad().defined()) << "no gradient reached " << p.key();
    auto flat = p.value().view(-1);
    const auto grad = p.value().grad().view(-1);
    for (int64_t idx : {int64_t{0}, flat.numel() / 2, flat.numel() - 1}) {
      const double orig = flat[idx].item<double>();
      {
        torch::NoGradGuard ng;
        flat[idx].fill_(orig + h);
      }
      const double plus = eval(model, U);
      {
        torch::NoGradGuard ng;
        flat[idx].fill_(orig - h);
      }
      const double minus = eval(model, U);
      {
        torch::NoGradGuard ng;
        flat[idx].fill_(orig);
      }
      const double fd = (plus - minus) / (2 * h);
      const double ad = grad[idx].item<double>();
      EXPECT_NEAR(ad, fd, 1e-6 * (1 + std::abs(fd))) << p.key() << "[" << idx << "]";
      ++checked;
    }
  }
  EXPECT_GE(checked, 3 * 7);  // lconvbilin, lact, lexp, lconv, lbilin, linear weight + bias
}

TEST(Gradients, LinkDerivativesMatchFiniteDifferences) {
  for (const Geometry& g : {Geometry{{4, 3}, 2}, Geometry{{3, 3, 3, 3}, 3}}) {
    const int64_t D = g.extents.size();
    const auto U = rough_field(g, 411);
    auto model = small_action_model(D, 412);
    const lattice::ActionFunctional action = [&](const torch::Tensor& V) { return model(V); };
    const auto deriv = lattice::autograd_derivative(action, U);  // [B, D, x.., N²-1]
    EXPECT_GT(max_abs(deriv), 1e-3);
    for (int64_t mu = 0; mu < D; ++mu) {
      std::vector<int64_t> site(D, 0);
      site[mu] = 1;
      site[0] = 2;
      const int64_t a = mu % (g.n_colors * g.n_colors - 1);
      const double fd = lattice::finite_difference_derivative(action, U, 1, mu, site, a, 1e-4);
      auto idx = deriv[1][mu];
      for (auto s : site) idx = idx[s];
      const double ad = idx[a].item<double>();
      EXPECT_NEAR(ad, fd, 1e-6 * (1 + std::abs(fd))) << "mu=" << mu;
    }
  }
}

/// d/dθ Σ (∂S/∂U)² by double backward equals a finite difference in θ (training on derivatives, as for FP actions).
TEST(Gradients, DoubleBackwardThroughLinkDerivatives) {
  const Geometry g{{3, 4}, 2};
  const auto U = rough_field(g, 421);
  auto model = small_action_model(2, 422);
  const lattice::ActionFunctional action = [&](const torch::Tensor& V) { return model(V); };
  auto loss = [&](bool create_graph) { return lattice::autograd_derivative(action, U, create_graph).pow(2).sum(); };
  const auto L = loss(true);
  std::vector<std::pair<std::string, int64_t>> probes{{"1.bilin.weight", 7}, {"3.beta", 1}, {"7.weight", 0}};
  const auto params = model->named_parameters(true);
  std::vector<torch::Tensor> targets;
  for (const auto& [name, idx] : probes) {
    ASSERT_NE(params.find(name), nullptr) << name;
    targets.push_back(params[name]);
  }
  const auto grads = torch::autograd::grad({L}, targets);
  const double h = 1e-5;
  for (size_t k = 0; k < probes.size(); ++k) {
    auto flat = targets[k].view(-1);
    const int64_t idx = probes[k].second;
    const double orig = flat[idx].item<double>();
    auto set = [&](double v) {
      torch::NoGradGuard ng;
      flat[idx].fill_(v);
    };
    set(orig + h);
    const double plus = loss(false).item<double>();
    set(orig - h);
    const double minus = loss(false).item<double>();
    set(orig);
    const double fd = (plus - minus) / (2 * h);
    const double ad = grads[k].view(-1)[idx].item<double>();
    EXPECT_GT(std::abs(fd), 1e-6) << probes[k].first;
    EXPECT_NEAR(ad, fd, 1e-6 * (1 + std::abs(fd))) << probes[k].first;
  }
}

TEST(Gradients, FloatPrecisionAfterConversion) {
  const Geometry g{{4, 3}, 2};
  const auto U = rough_field(g, 431);
  auto model = small_action_model(2, 432);
  const double ref = eval(model, U);
  model->to(torch::kFloat);
  for (const auto& p : model->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
  const auto out = model(U.to(torch::kComplexFloat));
  EXPECT_EQ(out.scalar_type(), torch::kFloat);
  EXPECT_NEAR(out.sum().item<double>(), ref, 1e-4 * (1 + std::abs(ref)));
}

}  // namespace
}  // namespace blockspin::lcnn::testing
