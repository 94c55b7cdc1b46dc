// Symmetric splitting integrators for molecular dynamics: leapfrog, Omelyan's 2nd-order minimum norm, and two
// 4th-order schemes (Omelyan's 4MN5FV and Yoshida's triple jump), as kick–drift coefficient tables.
//
// H = T(p) + S(q) splits into the exact flows "kick" p ← p − h ∂S(q) and "drift" q ← q + h ∂T(p) (for gauge links
// U ← exp(h p) U); one step of size ε is kick(c₀ε) drift(d₀ε) kick(c₁ε) … drift(d_{n−1}ε) kick(c_nε) with palindromic
// c, d, Σc = Σd = 1. Every such scheme is time-reversible and symplectic (volume preserving), so HMC with it is exact;
// its order is the order of the energy violation ΔH = O(ε^order) over a fixed trajectory length. The last kick of a
// step and the first of the next are merged (one force evaluation fewer per step).
// References: Omelyan, Mryglod, Folk, Comput. Phys. Commun. 151 (2003) 272 (2MN: Eq. 20, 4MN5FV: Eq. 71);
// H. Yoshida, Phys. Lett. A 150 (1990) 262 (triple jump).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace blockspin::lattice {

enum class Integrator { Leapfrog, Omelyan, Omelyan4, Yoshida4 };

/// The config names: "leapfrog", "omelyan", "omelyan4", "yoshida4" (in the enum's order).
const std::vector<std::string>& integrator_names();
/// The enum of a config name; anything else throws std::invalid_argument naming the choices.
Integrator integrator_from_name(const std::string& name);
/// The config name of an integrator.
const std::string& integrator_name(Integrator integrator);
/// Order of the energy violation: 2 (leapfrog, omelyan) or 4 (omelyan4, yoshida4).
int integrator_order(Integrator integrator);

/// One step's coefficients: kicks c₀…c_n and drifts d₀…d_{n−1} (fractions of ε).
struct SplittingScheme {
  std::vector<double> kicks;
  std::vector<double> drifts;
};

/// The coefficient table of an integrator; `omelyan_lambda` is the free parameter of the 2nd-order Omelyan scheme.
SplittingScheme splitting_scheme(Integrator integrator, double omelyan_lambda = 0.1931833275037836);

/// Runs `steps` steps of size `eps`: kick(h) must apply p ← p − h ∂S at the current q, drift(h) q's update with the
/// current p. Force evaluations: steps · (kicks − 1) + 1.
void integrate(const SplittingScheme& scheme, int64_t steps, double eps, const std::function<void(double)>& kick,
               const std::function<void(double)>& drift);

}  // namespace blockspin::lattice
