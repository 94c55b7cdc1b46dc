// The `training` block of `blockspin train` (every task) -> run::TrainerOptions.
#pragma once

#include "run/trainer.h"
#include "support/config.h"

namespace blockspin::apps {

/// Reads training.{steps, batch_size, lr, lr_final, weight_decay, log_every, checkpoint_every, eval_batch_size,
/// optimizer, schedule, plateau_factor, plateau_patience, seed}; `defaults` gives the task's defaults, `seed` the
/// default seed. ConfigError naming the key on bad values.
run::TrainerOptions read_trainer_options(support::Config training, const run::TrainerOptions& defaults, int64_t seed);

}  // namespace blockspin::apps
