// RK4 integration of the CNF with backprop or adjoint gradients (see ode.h).
#include "flows/ode.h"

#include <cstdint>
#include <functional>
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

/// The Butcher tableau of a four-stage explicit rule: stage i starts from y + h Σ_{j<i} a[i][j] k_j at t + c[i] h;
/// the step is y + h Σ b[i] k_i.
struct Tableau {
  double a[4][3], b[4], c[4];
};

const Tableau& tableau(RungeKutta rule) {
  static const Tableau classic{
      {{0, 0, 0}, {0.5, 0, 0}, {0, 0.5, 0}, {0, 0, 1}}, {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6}, {0, 0.5, 0.5, 1}};
  static const Tableau three_eighths{{{0, 0, 0}, {1.0 / 3, 0, 0}, {-1.0 / 3, 1, 0}, {1, -1, 1}},
                                     {1.0 / 8, 3.0 / 8, 3.0 / 8, 1.0 / 8},
                                     {0, 1.0 / 3, 2.0 / 3, 1}};
  return rule == RungeKutta::three_eighths ? three_eighths : classic;
}

/// A system of ODEs on a list of tensors, dy/dt = f(y, t).
using OdeState = std::vector<torch::Tensor>;
using OdeRhs = std::function<OdeState(const OdeState&, double)>;

/// One step of the rule for any such system: the CNF's (Ψ, log p) forward and its adjoint system backward.
OdeState rk4_step(const OdeRhs& f, const OdeState& y, double t, double h, RungeKutta rule) {
  const auto& T = tableau(rule);
  std::vector<OdeState> k;
  for (int i = 0; i < 4; ++i) {
    OdeState stage = y;
    for (int j = 0; j < i; ++j)
      if (T.a[i][j] != 0)
        for (size_t n = 0; n < y.size(); ++n) stage[n] = stage[n] + (T.a[i][j] * h) * k[j][n];
    k.push_back(f(stage, t + T.c[i] * h));
  }
  OdeState out(y.size());
  for (size_t n = 0; n < y.size(); ++n)
    out[n] = y[n] + h * (T.b[0] * k[0][n] + T.b[1] * k[1][n] + T.b[2] * k[2][n] + T.b[3] * k[3][n]);
  return out;
}

/// The CNF's augmented system: dΨ/dt = G(Ψ, t), d log p/dt = −∇·G(Ψ, t) (log p in its own dtype).
OdeRhs cnf_rhs(VectorFieldImpl& field, torch::ScalarType log_prob_dtype) {
  return [&field, log_prob_dtype](const OdeState& y, double t) -> OdeState {
    auto [G, div] = field.forward_and_divergence(y[0], t);
    return {G, -div.to(log_prob_dtype)};
  };
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
    // Integrate (z, a, g) from t_end back to t_begin with the forward pass's rule.
    const double h = (t_begin - t_end) / double(steps);
    const OdeRhs rhs = [&](const OdeState& x, double t) { return adjoint_rhs(*field, params, x[0], x[1], a_l, t); };
    const auto rule = static_cast<RungeKutta>(ctx->saved_data["rule"].toInt());
    for (int64_t i = 0; i < steps; ++i) state = rk4_step(rhs, state, t_end + i * h, h, rule);
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
  const auto rhs = cnf_rhs(field, start.log_prob.scalar_type());
  OdeState y{start.phi, start.log_prob};
  for (int64_t i = 0; i < steps; ++i) y = rk4_step(rhs, y, t_begin + i * h, h, rule);
  return {y[0], y[1]};
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
