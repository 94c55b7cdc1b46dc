// Scalar-field observables and their Γ-method estimates (see scalar_observables.h).
#include "lattice/scalar_observables.h"

#include "lattice/layout.h"
#include "lattice/scalar_action.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace blockspin::lattice {

namespace {

std::vector<int64_t> site_dims(const torch::Tensor& phi) {
  std::vector<int64_t> dims;
  for (int64_t d = kScalarSiteDim0; d < phi.dim(); ++d) dims.push_back(d);
  return dims;
}

void check_axis(const torch::Tensor& phi, int64_t mu, const char* what) {
  if (mu < 0 || mu >= scalar_n_dims(phi)) {
    std::ostringstream msg;
    msg << what << ": axis " << mu << " out of range for D = " << scalar_n_dims(phi);
    throw std::invalid_argument(msg.str());
  }
}

/// Slice sums S(t) = Σ_{x⊥} φ(t μ̂ + x⊥): [batch, L_mu].
torch::Tensor slice_sums(const torch::Tensor& phi, int64_t mu) {
  auto moved = phi.movedim(kScalarSiteDim0 + mu, 1);
  return moved.dim() == 2 ? moved : moved.flatten(2).sum(2);
}

/// |Σ_t S(t) e^{−2πit/L}|² per configuration: [batch].
torch::Tensor lowest_mode_power(const torch::Tensor& S) {
  const int64_t L = S.size(1);
  auto t = torch::arange(L, S.options()) * (2.0 * M_PI / static_cast<double>(L));
  auto re = (S * torch::cos(t)).sum(1), im = (S * torch::sin(t)).sum(1);
  return re * re + im * im;
}

void check_series(const torch::Tensor& s, int64_t dims, const char* what) {
  if (!s.defined() || s.dim() != dims || s.size(0) < 1 || s.size(1) < 1) {
    std::ostringstream msg;
    msg << what << ": expected a time series [T, chains" << (dims == 3 ? ", n" : "") << "], got "
        << (s.defined() ? s.sizes() : torch::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
}

}  // namespace

torch::Tensor magnetisation(const torch::Tensor& phi) {
  check_scalar_field(phi, "magnetisation");
  return phi.flatten(1).mean(1);
}

torch::Tensor two_point_function_momentum(const torch::Tensor& phi) {
  check_scalar_field(phi, "two_point_function_momentum");
  auto ft = torch::fft::fftn(phi, c10::nullopt, site_dims(phi));
  return torch::view_as_real(ft).pow(2).sum(-1) / static_cast<double>(scalar_volume(phi));
}

torch::Tensor two_point_function(const torch::Tensor& phi) {
  // Σ_y φ_y φ_{y+x} = ifft(|φ̃|²)(x) (ifft carries 1/V); G = that / V. The result is real up to rounding.
  auto power = two_point_function_momentum(phi);  // |φ̃|²/V
  return torch::real(torch::fft::ifftn(power, c10::nullopt, site_dims(phi)));
}

torch::Tensor timeslice_correlator(const torch::Tensor& phi, int64_t mu) {
  check_scalar_field(phi, "timeslice_correlator");
  check_axis(phi, mu, "timeslice_correlator");
  auto S = slice_sums(phi, mu);  // C(t) = (1/V) Σ_t' S(t') S(t'+t) = ifft(|S̃|²)/V
  auto power = torch::view_as_real(torch::fft::fft(S, c10::nullopt, 1)).pow(2).sum(-1);
  return torch::real(torch::fft::ifft(power, c10::nullopt, 1)) / static_cast<double>(scalar_volume(phi));
}

torch::Tensor second_moment_inputs(const torch::Tensor& phi, int64_t mu) {
  check_scalar_field(phi, "second_moment_inputs");
  const double V = static_cast<double>(scalar_volume(phi));
  auto m = magnetisation(phi);
  auto g0 = V * m * m;
  torch::Tensor gp;
  if (mu >= 0) {
    check_axis(phi, mu, "second_moment_inputs");
    gp = lowest_mode_power(slice_sums(phi, mu)) / V;
  } else {
    gp = torch::zeros_like(g0);
    for (int64_t nu = 0; nu < scalar_n_dims(phi); ++nu) {
      if (phi.size(kScalarSiteDim0 + nu) != phi.size(kScalarSiteDim0)) {
        throw std::invalid_argument("second_moment_inputs: averaging over directions needs equal extents");
      }
      gp = gp + lowest_mode_power(slice_sums(phi, nu));
    }
    gp = gp / (V * static_cast<double>(scalar_n_dims(phi)));
  }
  return torch::stack({g0, gp}, 1);
}

double lattice_momentum_squared_min(int64_t extent) {
  if (extent < 2) throw std::invalid_argument("lattice_momentum_squared_min: extent must be >= 2");
  const double s = std::sin(M_PI / static_cast<double>(extent));
  return 4.0 * s * s;
}

torch::Tensor connected_two_point_function(const torch::Tensor& phi) {
  auto mbar = magnetisation(phi).mean();
  return two_point_function(phi).mean(0) - mbar * mbar;
}

std::vector<std::vector<double>> to_replicas(const torch::Tensor& series) {
  check_series(series, 2, "to_replicas");
  auto s = series.detach().to(torch::kCPU, torch::kDouble).t().contiguous();
  std::vector<std::vector<double>> reps(s.size(0));
  const double* p = s.data_ptr<double>();
  for (int64_t r = 0; r < s.size(0); ++r) reps[r].assign(p + r * s.size(1), p + (r + 1) * s.size(1));
  return reps;
}

GammaResult gamma_mean(const torch::Tensor& series, const GammaOptions& opt) {
  return gamma_method(to_replicas(series), opt);
}

GammaResult gamma_susceptibility(const torch::Tensor& m, int64_t volume, const GammaOptions& opt) {
  check_series(m, 2, "gamma_susceptibility");
  return gamma_mean(static_cast<double>(volume) * m.to(torch::kDouble).pow(2), opt);
}

GammaResult gamma_susceptibility_abs(const torch::Tensor& m, int64_t volume, const GammaOptions& opt) {
  check_series(m, 2, "gamma_susceptibility_abs");
  auto md = m.to(torch::kDouble);
  const double V = static_cast<double>(volume);
  return gamma_method_derived(
      {to_replicas(md.pow(2)), to_replicas(md.abs())},
      [V](const std::vector<double>& a) { return V * (a[0] - a[1] * a[1]); }, opt);
}

GammaResult gamma_binder_cumulant(const torch::Tensor& m, const GammaOptions& opt) {
  check_series(m, 2, "gamma_binder_cumulant");
  auto m2 = m.to(torch::kDouble).pow(2);
  return gamma_method_derived(
      {to_replicas(m2), to_replicas(m2 * m2)},
      [](const std::vector<double>& a) { return 1.0 - a[1] / (3.0 * a[0] * a[0]); }, opt);
}

std::vector<GammaResult> gamma_connected_correlator(const torch::Tensor& c, const torch::Tensor& m, double factor,
                                                    const GammaOptions& opt) {
  check_series(c, 3, "gamma_connected_correlator");
  check_series(m, 2, "gamma_connected_correlator");
  if (m.size(0) != c.size(0) || m.size(1) != c.size(1)) {
    throw std::invalid_argument(
        "gamma_connected_correlator: correlator and magnetisation series differ in [T, chains]");
  }
  auto m_reps = to_replicas(m);
  std::vector<GammaResult> out;
  for (int64_t k = 0; k < c.size(2); ++k) {
    auto c_reps = to_replicas(c.select(2, k));
    if (factor == 0) {
      out.push_back(gamma_method(c_reps, opt));
    } else {
      out.push_back(gamma_method_derived(
          {c_reps, m_reps}, [factor](const std::vector<double>& a) { return a[0] - factor * a[1] * a[1]; }, opt));
    }
  }
  return out;
}

GammaResult gamma_xi2_second_moment(const torch::Tensor& inputs, int64_t extent, const GammaOptions& opt) {
  check_series(inputs, 3, "gamma_xi2_second_moment");
  if (inputs.size(2) != 2) throw std::invalid_argument("gamma_xi2_second_moment: expected inputs [T, chains, 2]");
  const double p2 = lattice_momentum_squared_min(extent);
  return gamma_method_derived(
      {to_replicas(inputs.select(2, 0)), to_replicas(inputs.select(2, 1))},
      [p2](const std::vector<double>& a) { return (a[0] / a[1] - 1.0) / p2; }, opt);
}

GammaResult gamma_xi_second_moment(const torch::Tensor& inputs, int64_t extent, const GammaOptions& opt) {
  check_series(inputs, 3, "gamma_xi_second_moment");
  if (inputs.size(2) != 2) throw std::invalid_argument("gamma_xi_second_moment: expected inputs [T, chains, 2]");
  const double p2 = lattice_momentum_squared_min(extent);
  return gamma_method_derived(
      {to_replicas(inputs.select(2, 0)), to_replicas(inputs.select(2, 1))},
      [p2](const std::vector<double>& a) { return std::sqrt((a[0] / a[1] - 1.0) / p2); }, opt);
}

}  // namespace blockspin::lattice
