// Symmetric splitting integrators for molecular dynamics (see md_integrator.h).
#include "lattice/md_integrator.h"

#include <cmath>
#include <stdexcept>

namespace blockspin::lattice {

const std::vector<std::string>& integrator_names() {
  static const std::vector<std::string> names{"leapfrog", "omelyan", "omelyan4", "yoshida4"};
  return names;
}

Integrator integrator_from_name(const std::string& name) {
  const auto& names = integrator_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<Integrator>(i);
  std::string choices;
  for (const auto& n : names) choices += (choices.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown integrator '" + name + "' (expected one of " + choices + ")");
}

const std::string& integrator_name(Integrator integrator) {
  return integrator_names().at(static_cast<size_t>(integrator));
}

int integrator_order(Integrator integrator) {
  return integrator == Integrator::Leapfrog || integrator == Integrator::Omelyan ? 2 : 4;
}

SplittingScheme splitting_scheme(Integrator integrator, double lam) {
  switch (integrator) {
    case Integrator::Leapfrog:
      return {{0.5, 0.5}, {1.0}};
    case Integrator::Omelyan:
      return {{lam, 1.0 - 2.0 * lam, lam}, {0.5, 0.5}};
    case Integrator::Omelyan4: {
      // 4MN5FV, velocity (force-first) form: five force evaluations per step.
      const double rho = 0.2539785108410595, theta = -0.03230286765269967;
      const double vartheta = 0.08398315262876693, lambda = 0.6822365335719091;
      const double k = 0.5 - lambda - vartheta, d = 1.0 - 2.0 * (theta + rho);
      return {{vartheta, lambda, k, k, lambda, vartheta}, {rho, theta, d, theta, rho}};
    }
    case Integrator::Yoshida4: {
      // Leapfrog steps of w₁ε, w₀ε, w₁ε with 2w₁ + w₀ = 1 and 2w₁³ + w₀³ = 0 (the ε³ errors cancel).
      const double w1 = 1.0 / (2.0 - std::cbrt(2.0)), w0 = 1.0 - 2.0 * w1;
      return {{0.5 * w1, 0.5 * (w1 + w0), 0.5 * (w0 + w1), 0.5 * w1}, {w1, w0, w1}};
    }
  }
  throw std::invalid_argument("splitting_scheme: unknown integrator");
}

void integrate(const SplittingScheme& s, int64_t steps, double eps, const std::function<void(double)>& kick,
               const std::function<void(double)>& drift) {
  if (s.kicks.size() != s.drifts.size() + 1 || s.drifts.empty())
    throw std::invalid_argument("integrate: a scheme needs one kick more than drifts");
  const size_t n = s.drifts.size();
  kick(s.kicks[0] * eps);
  for (int64_t step = 0; step < steps; ++step) {
    for (size_t i = 0; i < n; ++i) {
      drift(s.drifts[i] * eps);
      // The closing kick of a step merges with the opening kick of the next.
      const bool merge = i + 1 == n && step + 1 < steps;
      kick((s.kicks[i + 1] + (merge ? s.kicks[0] : 0.0)) * eps);
    }
  }
}

}  // namespace blockspin::lattice
