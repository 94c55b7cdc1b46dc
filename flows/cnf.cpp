// Continuous normalising flow module (see cnf.h).
#include "flows/cnf.h"

#include "flows/ode.h"

namespace blockspin::flows {

CNFImpl::CNFImpl(const CNFOptions& options) : options(options) { reset(); }

void CNFImpl::reset() { field = register_module("field", VectorField(options.field())); }

FlowState CNFImpl::forward(const FlowState& s) {
  return options.adjoint() ? integrate_adjoint(*field, s, 0.0, 1.0, options.steps(), options.rule())
                           : integrate_rk4(*field, s, 0.0, 1.0, options.steps(), options.rule());
}

FlowState CNFImpl::reverse(const FlowState& s) {
  return options.adjoint() ? integrate_adjoint(*field, s, 1.0, 0.0, options.steps(), options.rule())
                           : integrate_rk4(*field, s, 1.0, 0.0, options.steps(), options.rule());
}

}  // namespace blockspin::flows
