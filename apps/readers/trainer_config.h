// The `training` block of `blockspin train` (every task) -> run::TrainerOptions.
#pragma once

#include "run/run_directory.h"
#include "run/trainer.h"
#include "support/config.h"

#include <functional>

namespace blockspin::apps {

/// Reads training.{steps, batch_size, lr, lr_final, weight_decay, log_every, checkpoint_every, eval_batch_size,
/// optimizer, schedule, plateau_factor, plateau_patience, seed, accumulate, clip_grad_norm}; `defaults` gives the
/// task's defaults, `seed` the default seed. ConfigError naming the key on bad values.
run::TrainerOptions read_trainer_options(support::Config training, const run::TrainerOptions& defaults, int64_t seed);

/// The resume rules of a `train` task: a stored config is read with this version's defaults by `read_setup` (keys
/// added since the run began compare equal at their default); training.accumulate may change (the same update in
/// other micro-batches: a 2-rank run resumed by one process with accumulate = 2 continues bitwise).
run::ResumeRules training_resume_rules(const std::function<void(support::Config&)>& read_setup);

}  // namespace blockspin::apps
