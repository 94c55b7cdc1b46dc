// The inception iteration's bookkeeping: how A_FP and D^FP of the configurations an fp-data run took from earlier
// fp_data files (`inputs[].fp_data`) changed against those files — the iterated FP equation of arXiv:2502.03315, whose
// fixed point is reached when they stop changing.
#pragma once
#include "apps/readers/fp_data_setup.h"
#include "io/fp_data_file.h"

#include <nlohmann/json.hpp>

namespace blockspin::apps {

/// One entry per fp_data input: {"input", "file", "fine_action" (of that file), "per_beta": [{beta_wil, n,
/// action_per_site_before, action_per_site_after, relative_change, relative_change_error, max_abs_relative_change,
/// derivative_relative_change}], "instantons": [{rho, action_before, action_after, relative_change}]}, with
/// relative_change = ⟨(A_after − A_before)/A_before⟩ over the configurations and derivative_relative_change =
/// ‖D_after − D_before‖ / ‖D_before‖ (all rows of that β). Rows that did not converge in this run are left out. Empty
/// array if no input is an fp_data file.
nlohmann::json compare_with_fp_inputs(const FpDataSetup& s, const io::FpCoarse& c, const io::FpResults& r);

/// The table of compare_with_fp_inputs on stdout.
void print_fp_iteration(const nlohmann::json& comparison);

}  // namespace blockspin::apps
