// The JSON form of a Γ-method result used in every results file: {mean, error, tau_int, tau_int_error}.
#pragma once

#include <nlohmann/json.hpp>

#include "lattice/gamma_method.h"

namespace blockspin::apps {

inline nlohmann::json gamma_json(const lattice::GammaResult& r) {
  return {{"mean", r.value}, {"error", r.error}, {"tau_int", r.tau_int}, {"tau_int_error", r.tau_int_error}};
}

}  // namespace blockspin::apps
