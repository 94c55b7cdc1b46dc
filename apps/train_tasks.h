// Tasks of `blockspin train` beyond wilson_loops (cmd_train.cpp dispatches on the config key "task").
#pragma once

#include "apps/command.h"
#include "support/config.h"

namespace blockspin::apps {

/// Task "fp_action": the learned FP action trained on fp_data.h5 values and derivatives (train_fp_action.cpp).
void run_train_fp_action(const CommonOptions& opt, support::Config& cfg);

}  // namespace blockspin::apps
