// The `training` block of `blockspin train` (see trainer_config.h).
#include "apps/readers/trainer_config.h"

#include "support/errors.h"

#include <fmt/format.h>

namespace blockspin::apps {

using support::Check;

run::TrainerOptions read_trainer_options(support::Config t, const run::TrainerOptions& d, int64_t seed) {
  run::TrainerOptions o;
  o.steps = t.get<int64_t>("steps", d.steps, Check::positive());
  o.batch_size = t.get<int64_t>("batch_size", d.batch_size, Check::positive());
  o.lr = t.get<double>("lr", d.lr, Check::positive());
  o.lr_final = t.get<double>("lr_final", d.lr_final, Check::positive());
  o.weight_decay = t.get<double>("weight_decay", d.weight_decay, Check::non_negative());
  o.log_every = t.get<int64_t>("log_every", d.log_every, Check::positive());
  o.checkpoint_every = t.get<int64_t>("checkpoint_every", d.checkpoint_every, Check::positive());
  if (o.checkpoint_every % o.log_every != 0)
    throw support::ConfigError(
        fmt::format("config key 'training.checkpoint_every': {} must be a multiple of training.log_every = {}",
                    o.checkpoint_every, o.log_every));
  o.eval_batch_size = t.get<int64_t>("eval_batch_size", d.eval_batch_size, Check::positive());
  o.optimizer = t.get<std::string>("optimizer", d.optimizer, Check::one_of({"adam", "adamw"}));
  o.schedule = t.get<std::string>("schedule", d.schedule, Check::one_of({"exponential", "plateau"}));
  o.plateau_factor = t.get<double>("plateau_factor", d.plateau_factor, Check::in_range(0, 1) & Check::positive());
  o.plateau_patience = t.get<int64_t>("plateau_patience", d.plateau_patience, Check::non_negative());
  o.seed = t.get<int64_t>("seed", seed, Check::non_negative());
  o.accumulate = t.get<int64_t>("accumulate", d.accumulate, Check::positive());
  o.clip_grad_norm = t.get<double>("clip_grad_norm", d.clip_grad_norm, Check::non_negative());
  return o;
}

run::ResumeRules training_resume_rules(const std::function<void(support::Config&)>& read_setup) {
  run::ResumeRules rules;
  rules.free_keys = {"training.accumulate", "training.steps"};  // steps: a run can be extended
  rules.resolve = [read_setup](const nlohmann::json& stored) {
    support::Config c = support::Config::from_json(stored);
    c.require<std::string>("task");
    read_setup(c);
    return c.resolved();
  };
  return rules;
}

}  // namespace blockspin::apps
