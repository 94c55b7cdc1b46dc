// Translation unit that owns the precompiled <torch/torch.h> shared by all Blockspin targets.
#include <torch/torch.h>
