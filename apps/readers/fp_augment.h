// Data augmentation of learned-FP-action training by the hypercubic group (`train` task fp_action, data.augment).
//
// A_FP is invariant under the lattice rotations and reflections (an isotropic blocking of an invariant fine action),
// so a row (V, A_FP[V], D^FP[V]) is also a row for every transformed V^g. Rather than transforming the labels, the
// model is evaluated on V^g and its link derivative taken with respect to V by autograd through the map
// (lattice/hypercubic.h): d/dV A[V^g] must equal D^FP[V] exactly when A is invariant. The element of each row is a
// pure function of (seed, step, row), so a run is the same for any world size, micro-batching or resume.
#pragma once

#include "lattice/derivatives.h"
#include "lattice/hypercubic.h"

#include <cstdint>
#include <vector>

namespace blockspin::apps {

/// The index (lattice::hypercubic_element) of the element row `row` is seen through at training step `step`: uniform
/// over the D! 2^D elements, from std::mt19937_64 seeded by (seed, step, row) — the same on every platform.
int64_t augmentation_index(int64_t seed, int64_t step, int64_t row, int64_t dims);

/// The elements for a batch of rows (global row indices `rows`, CPU int64) at `step`.
std::vector<lattice::HypercubicElement> augmentation_elements(int64_t seed, int64_t step, const torch::Tensor& rows,
                                                              int64_t dims);

/// `action` on every configuration b of the batch transformed by its element: U -> action([U_b^{g_b}]_b). Its link
/// derivative (lattice::action_and_derivative) is with respect to the untransformed U.
lattice::ActionFunctional augmented_action(lattice::ActionFunctional action,
                                           std::vector<lattice::HypercubicElement> elements);

}  // namespace blockspin::apps
