// RK4 integration of the CNF with backprop or adjoint gradients (see ode.h).
#include "flows/ode.h"

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace blockspin::flows {

namespace {

void check_steps(int64_t steps, const FlowState& s) {
  if (steps < 1) throw std::invalid_argument("CNF integration: steps must be >= 1");
  if (!s.phi.defined() || !s.log_prob.defined()) throw std::invalid_argument("CNF integration: undefined state");
  if (s.log_prob.dim() != 1 || s.log_prob.size(0) != s.phi.size(0))
    throw std::invalid_argument("CNF integration: log_prob must be [batch]");
}

/// One RK4 step of the augmented state (Ψ, log p).
FlowState rk4_step(VectorFieldImpl& field, const FlowState& s, double t, double h, RungeKutta rule) {
  if (rule == RungeKutta::three_eighths) {
    auto [g1, d1] = field.forward_and_divergence(s.phi, t);
    auto [g2, d2] = field.forward_and_divergence(s.phi + (h / 3) * g1, t + h / 3);
    auto [g3, d3] = field.forward_and_divergence(s.phi + h * (g2 - g1 / 3), t + 2 * h / 3);
    auto [g4, d4] = field.forward_and_divergence(s.phi + h * (g1 - g2 + g3), t + h);
    return {s.phi + (h / 8) * (g1 + 3 * (g2 + g3) + g4),
            s.log_prob - (h / 8) * (d1 + 3 * (d2 + d3) + d4).to(s.log_prob.dtype())};
  }
  auto [g1, d1] = field.forward_and_divergence(s.phi, t);
  auto [g2, d2] = field.forward_and_divergence(s.phi + (0.5 * h) * g1, t + 0.5 * h);
  auto [g3, d3] = field.forward_and_divergence(s.phi + (0.5 * h) * g2, t + 0.5 * h);
  auto [g4, d4] = field.forward_and_divergence(s.phi + h * g3, t + h);
  return {s.phi + (h / 6) * (g1 + 2 * g2 + 2 * g3 + g4),
          s.log_prob - (h / 6) * (d1 + 2 * d2 + 2 * d3 + d4).to(s.log_prob.dtype())};
}

/// Adjoint system at time t: state z, adjoint a = dL/dz, constant a_l = dL/d(log p) [batch]. Returns
/// (dz/dt, da/dt, d g_θ/dt) with s = Σ a·G − Σ a_l ∇·G, da/dt = −∂s/∂z, dg/dt = −∂s/∂θ.
std::vector<torch::Tensor> adjoint_rhs(VectorFieldImpl& field, const std::vector<torch::Tensor>& params,
                                       const torch::Tensor& z, const torch::Tensor& a, const torch::Tensor& a_l,
                                       double t) {
  torch::AutoGradMode enable(true);
  auto zv = z.detach().requires_grad_(true);
  auto [G, div] = field.forward_and_divergence(zv, t);
  auto s = (a * G).sum() - (a_l.to(div.dtype()) * div).sum();
  std::vector<torch::Tensor> inputs{zv};
  inputs.insert(inputs.end(), params.begin(), params.end());
  auto grads = torch::autograd::grad({s}, inputs, {}, false, false, /*allow_unused=*/true);
  std::vector<torch::Tensor> out{G.detach()};
  for (size_t i = 0; i < grads.size(); ++i) {
    auto g = grads[i].defined() ? grads[i] : torch::zeros_like(inputs[i]);
    out.push_back(-g.detach());
  }
  return out;  // dz/dt, da/dt, dg_θ/dt...
}

class AdjointFunction : public torch::autograd::Function<AdjointFunction> {
 public:
  // inputs: Ψ0, log p0, then the trainable parameters of `field`.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& psi,
                                                const torch::Tensor& log_prob, at::TensorList params,
                                                VectorFieldImpl* field, double t_begin, double t_end, int64_t steps,
                                                int64_t rule) {
    const auto rk = static_cast<RungeKutta>(rule);
    auto end = integrate_rk4(*field, {psi.detach(), log_prob.detach()}, t_begin, t_end, steps, rk);
    ctx->save_for_backward({end.phi});
    ctx->saved_data["field"] = reinterpret_cast<int64_t>(field);
    ctx->saved_data["t_begin"] = t_begin;
    ctx->saved_data["t_end"] = t_end;
    ctx->saved_data["steps"] = steps;
    ctx->saved_data["rule"] = rule;
    ctx->saved_data["n_params"] = int64_t(params.size());
    ctx->saved_data["log_prob_dtype"] = int64_t(log_prob.scalar_type());  // double also for float fields
    return {end.phi, end.log_prob};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto* field = reinterpret_cast<VectorFieldImpl*>(ctx->saved_data["field"].toInt());
    const double t_begin = ctx->saved_data["t_begin"].toDouble(), t_end = ctx->saved_data["t_end"].toDouble();
    const int64_t steps = ctx->saved_data["steps"].toInt(), n_params = ctx->saved_data["n_params"].toInt();
    auto z = ctx->get_saved_variables()[0];
    std::vector<torch::Tensor> params;
    for (auto& p : field->parameters())
      if (p.requires_grad()) params.push_back(p);
    if (int64_t(params.size()) != n_params) throw std::logic_error("integrate_adjoint: parameters changed");
    auto a = grad_out[0].defined() ? grad_out[0] : torch::zeros_like(z);
    const auto lp_dtype = static_cast<torch::ScalarType>(ctx->saved_data["log_prob_dtype"].toInt());
    auto a_l = grad_out[1].defined() ? grad_out[1] : torch::zeros({z.size(0)}, z.options().dtype(lp_dtype));
    std::vector<torch::Tensor> state{z, a};
    for (auto& p : params) state.push_back(torch::zeros_like(p));
    // Integrate (z, a, g) from t_end back to t_begin with RK4.
    const double h = (t_begin - t_end) / double(steps);
    auto axpy = [](const std::vector<torch::Tensor>& x, double c, const std::vector<torch::Tensor>& k) {
      std::vector<torch::Tensor> y(x.size());
      for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] + c * k[i];
      return y;
    };
    auto rhs = [&](const std::vector<torch::Tensor>& x, double t) {
      return adjoint_rhs(*field, params, x[0], x[1], a_l, t);
    };
    const bool three_eighths = static_cast<RungeKutta>(ctx->saved_data["rule"].toInt()) == RungeKutta::three_eighths;
    for (int64_t i = 0; i < steps; ++i) {
      const double t = t_end + i * h;
      auto k1 = rhs(state, t);
      if (three_eighths) {
        auto k2 = rhs(axpy(state, h / 3, k1), t + h / 3);
        auto y3 = axpy(state, -h / 3, k1);
        auto k3 = rhs(axpy(y3, h, k2), t + 2 * h / 3);
        auto y4 = axpy(axpy(state, h, k1), -h, k2);
        auto k4 = rhs(axpy(y4, h, k3), t + h);
        for (size_t j = 0; j < state.size(); ++j) state[j] = state[j] + (h / 8) * (k1[j] + 3 * (k2[j] + k3[j]) + k4[j]);
        continue;
      }
      auto k2 = rhs(axpy(state, 0.5 * h, k1), t + 0.5 * h);
      auto k3 = rhs(axpy(state, 0.5 * h, k2), t + 0.5 * h);
      auto k4 = rhs(axpy(state, h, k3), t + h);
      for (size_t j = 0; j < state.size(); ++j) state[j] = state[j] + (h / 6) * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
    }
    torch::autograd::variable_list grads{state[1], a_l};
    for (int64_t i = 0; i < n_params; ++i) grads.push_back(state[2 + i]);
    for (int i = 0; i < 5; ++i) grads.emplace_back();  // field, t_begin, t_end, steps, rule
    return grads;
  }
};

}  // namespace

FlowState integrate_rk4(VectorFieldImpl& field, const FlowState& start, double t_begin, double t_end, int64_t steps,
                        RungeKutta rule) {
  check_steps(steps, start);
  const double h = (t_end - t_begin) / double(steps);
  FlowState s = start;
  for (int64_t i = 0; i < steps; ++i) s = rk4_step(field, s, t_begin + i * h, h, rule);
  return s;
}

FlowState integrate_adjoint(VectorFieldImpl& field, const FlowState& start, double t_begin, double t_end, int64_t steps,
                            RungeKutta rule) {
  check_steps(steps, start);
  std::vector<torch::Tensor> params;
  for (auto& p : field.parameters())
    if (p.requires_grad()) params.push_back(p);
  auto out = AdjointFunction::apply(start.phi, start.log_prob, at::TensorList(params), &field, t_begin, t_end, steps,
                                    static_cast<int64_t>(rule));
  return {out[0], out[1]};
}

}  // namespace blockspin::flows
