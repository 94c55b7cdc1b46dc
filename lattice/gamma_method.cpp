// Wolff's Γ-method (UWerr): automatic windowing, bias correction, derived quantities. See gamma_method.h.
#include "lattice/gamma_method.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace blockspin::lattice {

namespace {

/// τ used for τ_int(W) ≤ 1/2: makes exp(−W/τ) vanish so that the window closes at once.
constexpr double kTinyTau = 1e-16;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::invalid_argument(where + ": " + what);
}

/// Checks one observable's replicas and returns the replica offsets (size R+1) into the pooled data.
std::vector<int64_t> check_replicas(const std::vector<std::vector<double>>& data, const std::string& where) {
  if (data.empty()) fail(where, "no replicas given (data is empty)");
  std::vector<int64_t> offsets{0};
  for (size_t r = 0; r < data.size(); ++r) {
    if (data[r].empty()) fail(where, "replica " + std::to_string(r) + " is empty");
    for (size_t i = 0; i < data[r].size(); ++i) {
      if (!std::isfinite(data[r][i])) {
        fail(where, "non-finite value at replica " + std::to_string(r) + ", measurement " + std::to_string(i));
      }
    }
    offsets.push_back(offsets.back() + static_cast<int64_t>(data[r].size()));
  }
  if (offsets.back() < 2) {
    fail(where, "need at least 2 measurements in total, got " + std::to_string(offsets.back()));
  }
  return offsets;
}

/// Mean of a range. Exactly the common value if the range is constant, so that constant data give exactly
/// zero fluctuations (a plain sum/N may be off by an ulp).
double mean_of(const double* x, int64_t n) {
  bool constant = true;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    sum += x[i];
    constant = constant && (x[i] == x[0]);
  }
  return constant ? x[0] : sum / static_cast<double>(n);
}

/// Pooled mean over all replicas (constant data give the constant exactly).
double pooled_mean(const std::vector<std::vector<double>>& data, int64_t n_total) {
  bool constant = true;
  double sum = 0;
  const double first = data[0][0];
  for (const auto& rep : data) {
    for (double x : rep) {
      sum += x;
      constant = constant && (x == first);
    }
  }
  return constant ? first : sum / static_cast<double>(n_total);
}

/// Σ_r Σ_{i < N_r − t} δ_i δ_{i+t}, with four independent accumulators (breaks the add latency chain).
double lagged_sum(const std::vector<double>& d, const std::vector<int64_t>& offsets, int64_t t) {
  double total = 0;
  for (size_t r = 0; r + 1 < offsets.size(); ++r) {
    const double* a = d.data() + offsets[r];
    const double* b = a + t;
    const int64_t m = offsets[r + 1] - offsets[r] - t;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
      s0 += a[i] * b[i];
      s1 += a[i + 1] * b[i + 1];
      s2 += a[i + 2] * b[i + 2];
      s3 += a[i + 3] * b[i + 3];
    }
    for (; i < m; ++i) s0 += a[i] * b[i];
    total += (s0 + s1) + (s2 + s3);
  }
  return total;
}

}  // namespace

GammaResult gamma_analyse_fluctuations(const std::vector<double>& fluct, const std::vector<int64_t>& offsets,
                                       const GammaOptions& opt) {
  const std::string where = "gamma_analyse_fluctuations";
  if (offsets.size() < 2 || offsets.front() != 0 || offsets.back() != static_cast<int64_t>(fluct.size())) {
    fail(where, "offsets must start at 0, end at fluct.size() and describe at least one replica");
  }
  const int64_t R = static_cast<int64_t>(offsets.size()) - 1;
  int64_t min_len = offsets[1] - offsets[0];
  for (int64_t r = 0; r < R; ++r) {
    const int64_t len = offsets[r + 1] - offsets[r];
    if (len < 1) fail(where, "replica " + std::to_string(r) + " is empty");
    min_len = std::min(min_len, len);
  }
  const int64_t N = offsets.back();
  if (N < 2) fail(where, "need at least 2 measurements in total, got " + std::to_string(N));
  if (!(opt.S >= 0) || !std::isfinite(opt.S)) {
    fail(where, "GammaOptions::S must be finite and >= 0, got " + std::to_string(opt.S));
  }
  if (opt.max_window < -1) {
    fail(where, "GammaOptions::max_window must be >= 0 or -1 (automatic), got " + std::to_string(opt.max_window));
  }

  GammaResult res;
  res.n = N;
  res.replicas = R;
  const double Nd = static_cast<double>(N);
  const auto gamma_at = [&](int64_t t) { return lagged_sum(fluct, offsets, t) / static_cast<double>(N - R * t); };

  std::vector<double> gamma{gamma_at(0)};
  if (!(gamma[0] > 0)) {  // no fluctuations at all: exact result, nothing to window
    res.rho = {1.0};
    return res;
  }

  // Largest admissible window: Γ(t) needs t <= N_r − 1 in every replica.
  const int64_t t_cap = min_len - 1;
  const int64_t t_max = opt.max_window < 0 ? min_len / 2 : std::min(opt.max_window, t_cap);

  // Automatic windowing, computing Γ(t) only as far as needed.
  int64_t W = 0;
  bool found = false;
  if (opt.S == 0) {
    found = true;  // UWerr convention: S = 0 means no autocorrelations are assumed, W = 0
  } else {
    double g_int = 0;  // τ_int(W) − 1/2
    for (int64_t t = 1; t <= t_max; ++t) {
      gamma.push_back(gamma_at(t));
      g_int += gamma[t] / gamma[0];
      // (2τ_int+1)/(2τ_int−1) = (g_int+1)/g_int = 1 + 1/g_int.
      const double tau = g_int <= 0 ? kTinyTau : opt.S / std::log1p(1.0 / g_int);
      const double td = static_cast<double>(t);
      const double g = std::exp(-td / tau) - tau / std::sqrt(td * Nd);
      if (g < 0) {
        W = t;
        found = true;
        break;
      }
    }
    if (!found) W = t_max;
  }
  // Bias correction of Γ (Wolff Eq. 31) and the final estimates.
  const auto corrected_sum = [&](int64_t w) {
    double c = gamma[0];
    for (int64_t t = 1; t <= w; ++t) c += 2 * gamma[t];
    return c * (1.0 + (2.0 * static_cast<double>(w) + 1.0) / Nd);  // Γ(t) += C_F/N for t = 0..w, summed
  };
  double c_f = corrected_sum(W);
  if (!(c_f > 0)) {
    // A non-positive C_F means the noise of the Γ(t) estimates dominates (typically a handful of measurements
    // with a negative ρ(1) estimate). Never report a zero error for fluctuating data: fall back to W = 0, i.e.
    // no autocorrelation, and flag the window as not found.
    W = 0;
    found = false;
    c_f = corrected_sum(0);
  }
  res.window = W;
  res.window_found = found;
  const double c_raw = c_f / (1.0 + (2.0 * static_cast<double>(W) + 1.0) / Nd);
  for (int64_t t = 0; t <= W; ++t) gamma[t] += c_raw / Nd;

  res.error = std::sqrt(c_f / Nd);
  res.tau_int = c_f / (2 * gamma[0]);
  const double Wd = static_cast<double>(W);
  res.error_of_error = res.error * std::sqrt((Wd + 0.5) / Nd);
  res.tau_int_error = res.tau_int * 2 * std::sqrt(std::max(0.0, Wd + 0.5 - res.tau_int) / Nd);
  res.rho.resize(static_cast<size_t>(W) + 1);
  for (int64_t t = 0; t <= W; ++t) res.rho[t] = gamma[t] / gamma[0];
  return res;
}

GammaResult gamma_method(const std::vector<std::vector<double>>& data, const GammaOptions& opt) {
  const std::vector<int64_t> offsets = check_replicas(data, "gamma_method");
  const int64_t N = offsets.back();
  const double mean = pooled_mean(data, N);

  std::vector<double> fluct;
  fluct.reserve(static_cast<size_t>(N));
  for (const auto& rep : data) {
    for (double x : rep) fluct.push_back(x - mean);
  }
  GammaResult res = gamma_analyse_fluctuations(fluct, offsets, opt);
  res.value = mean;  // Σ_r N_r ā^r / N = ā, so the replica bias correction vanishes identically
  return res;
}

GammaResult gamma_method(const std::vector<double>& data, const GammaOptions& opt) {
  return gamma_method(std::vector<std::vector<double>>{data}, opt);
}

GammaResult gamma_method_derived(const std::vector<std::vector<std::vector<double>>>& data,
                                 const std::function<double(const std::vector<double>&)>& f, const GammaOptions& opt) {
  const std::string where = "gamma_method_derived";
  if (data.empty()) fail(where, "no observables given (data is empty)");
  if (!f) fail(where, "the function f is empty");

  const size_t n_obs = data.size();
  const std::vector<int64_t> offsets = check_replicas(data[0], where + " (observable 0)");
  for (size_t a = 1; a < n_obs; ++a) {
    check_replicas(data[a], where + " (observable " + std::to_string(a) + ")");
    if (data[a].size() != data[0].size()) {
      fail(where, "observable " + std::to_string(a) + " has " + std::to_string(data[a].size()) +
                      " replicas, observable 0 has " + std::to_string(data[0].size()));
    }
    for (size_t r = 0; r < data[0].size(); ++r) {
      if (data[a][r].size() != data[0][r].size()) {
        fail(where, "replica " + std::to_string(r) + " of observable " + std::to_string(a) + " has " +
                        std::to_string(data[a][r].size()) + " measurements, observable 0 has " +
                        std::to_string(data[0][r].size()));
      }
    }
  }
  const int64_t N = offsets.back();
  const int64_t R = static_cast<int64_t>(offsets.size()) - 1;
  const double Nd = static_cast<double>(N);

  // Pooled means ā_α, per-replica means ā_α^r and the spreads Γ_αα(0).
  std::vector<double> abar(n_obs), gamma0(n_obs);
  std::vector<std::vector<double>> abar_rep(static_cast<size_t>(R), std::vector<double>(n_obs));
  for (size_t a = 0; a < n_obs; ++a) {
    abar[a] = pooled_mean(data[a], N);
    double ss = 0;
    for (int64_t r = 0; r < R; ++r) {
      const auto& rep = data[a][r];
      abar_rep[r][a] = mean_of(rep.data(), static_cast<int64_t>(rep.size()));
      for (double x : rep) ss += (x - abar[a]) * (x - abar[a]);
    }
    gamma0[a] = ss / Nd;
  }

  const auto checked_f = [&](const std::vector<double>& args, const std::string& what) {
    const double v = f(args);
    if (!std::isfinite(v)) {
      std::ostringstream msg;
      msg << where << ": f(" << what << ") is not finite (" << v << ")";
      throw std::domain_error(msg.str());
    }
    return v;
  };
  const double f_bar = checked_f(abar, "means");

  // Gradient by central differences, step h_α = sqrt(Γ_αα(0)/N)/2 (UWerr).
  std::vector<double> grad(n_obs, 0.0);
  for (size_t a = 0; a < n_obs; ++a) {
    const double h = std::sqrt(gamma0[a] / Nd) / 2;
    if (h == 0) continue;
    std::vector<double> shifted = abar;
    shifted[a] = abar[a] + h;
    const double f_plus = f(shifted);
    shifted[a] = abar[a] - h;
    const double f_minus = f(shifted);
    grad[a] = (f_plus - f_minus) / (2 * h);
  }

  // Projected fluctuations δ_i = Σ_α f_α (a_α,i − ā_α).
  std::vector<double> fluct(static_cast<size_t>(N), 0.0);
  for (size_t a = 0; a < n_obs; ++a) {
    if (grad[a] == 0) continue;
    int64_t k = 0;
    for (const auto& rep : data[a]) {
      for (double x : rep) fluct[k++] += grad[a] * (x - abar[a]);
    }
  }
  GammaResult res = gamma_analyse_fluctuations(fluct, offsets, opt);

  // Value, with Wolff's Eq. (49) replica bias cancellation when R > 1.
  res.value = f_bar;
  if (R > 1) {
    double f_rep = 0;
    for (int64_t r = 0; r < R; ++r) {
      const double n_r = static_cast<double>(offsets[r + 1] - offsets[r]);
      f_rep += n_r * checked_f(abar_rep[r], "means of replica " + std::to_string(r));
    }
    f_rep /= Nd;
    res.bias = (f_rep - f_bar) / static_cast<double>(R - 1);
    res.value = f_bar - res.bias;
  }
  return res;
}

}  // namespace blockspin::lattice
