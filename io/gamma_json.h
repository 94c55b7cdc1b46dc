// The JSON form of a Γ-method result used in every results file: {mean, error, tau_int, tau_int_error}, or
// {"error": why} where the analysis is impossible (a constant chain, too few measurements).
#pragma once

#include <nlohmann/json.hpp>

#include "lattice/gamma_method.h"

#include <exception>

namespace blockspin::io {

inline nlohmann::json gamma_json(const lattice::GammaResult& r) {
  return {{"mean", r.value}, {"error", r.error}, {"tau_int", r.tau_int}, {"tau_int_error", r.tau_int_error}};
}

/// gamma_json(fn()), or {"error": what} when fn throws: a results file reports what can be computed and marks what
/// cannot.
template <class Fn>
nlohmann::json gamma_or_error(Fn&& fn) {
  try {
    return gamma_json(fn());
  } catch (const std::exception& e) {
    return nlohmann::json{{"error", e.what()}};
  }
}

}  // namespace blockspin::io
