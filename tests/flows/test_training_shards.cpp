// Tests of data-parallel flow training (TrainerOptions::shards): a batch split into shards computed by two "processes"
// (threads exchanging through an in-process stand-in for the process group) trains exactly as one process holding
// every shard; the shards' random state survives a checkpoint and is checked on load.
#include "flow_test_helpers.h"

#include "flows/log_z_gradient.h"
#include "flows/training.h"

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

using namespace blockspin::flows;
using namespace blockspin::flows::testing;

namespace {

/// The collectives of `size` threads: every member deposits its input, the last one to arrive combines them in rank
/// order (sum or concatenation) and all read the result — what c10d's allreduce / allgather give the processes.
class ThreadGroup {
 public:
  explicit ThreadGroup(int size) : size_(size), inputs_(size) {}

  ShardCollectives collectives(int rank) {
    ShardCollectives c;
    c.sum = [this, rank](std::vector<torch::Tensor>& t) {
      auto r = exchange(rank, torch::cat(flat(t)), [](const std::vector<torch::Tensor>& in) {
        auto s = in[0].clone();
        for (size_t i = 1; i < in.size(); ++i) s += in[i];
        return s;
      });
      int64_t offset = 0;
      for (auto& x : t) {
        x = r.slice(0, offset, offset + x.numel()).view(x.sizes()).to(x.options()).clone();
        offset += x.numel();
      }
    };
    c.gather = [this, rank](const torch::Tensor& t) {
      return exchange(rank, t.cpu(), [](const std::vector<torch::Tensor>& in) { return torch::cat(in, 0); });
    };
    return c;
  }

 private:
  static std::vector<torch::Tensor> flat(const std::vector<torch::Tensor>& t) {
    std::vector<torch::Tensor> f;
    for (const auto& x : t) f.push_back(x.detach().cpu().reshape({-1}));
    return f;
  }

  torch::Tensor exchange(int rank, torch::Tensor mine,
                         const std::function<torch::Tensor(const std::vector<torch::Tensor>&)>& combine) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !reading_; });  // the previous round is read by everyone
    inputs_[rank] = std::move(mine);
    if (++arrived_ == size_) {
      result_ = combine(inputs_);
      reading_ = true;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return reading_; });
    }
    auto r = result_;
    if (++read_ == size_) {
      arrived_ = read_ = 0;
      reading_ = false;
      cv_.notify_all();
    }
    return r;
  }

  int size_;
  std::vector<torch::Tensor> inputs_;
  torch::Tensor result_;
  int arrived_ = 0, read_ = 0;
  bool reading_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
};

/// Options that exercise every shared piece at every step: the RK4 control (checked each step, with a tolerance
/// that makes it refine), the bank (redrawn when its ESS drops) and an uneven split (batch 15 over 2 shards).
TrainerOptions sharded_options(Matching m) {
  auto o = tiny_trainer_options(m);
  o.batch = 15;
  o.bank.chains = 19;
  o.bank.size = 190;
  o.lr = 0.05;
  o.ode_control.tolerance = 1e-6;
  o.ode_control.check_every = 1;
  o.ode_control.max_steps = 12;
  o.shards = 2;
  return o;
}

struct Outcome {
  std::vector<TrainMetrics> metrics;
  std::vector<torch::Tensor> parameters;
};

Outcome train(FlowTrainer& t, int steps) {
  Outcome r;
  for (int i = 0; i < steps; ++i) r.metrics.push_back(t.step());
  for (const auto& p : t.flow->parameters()) r.parameters.push_back(p.detach().cpu().clone());
  r.parameters.push_back(t.kappa.detach().clone());
  r.parameters.push_back(t.lambda.detach().clone());
  return r;
}

/// Two threads, one shard each, `steps` steps; returns each thread's outcome.
std::vector<Outcome> train_on_two_threads(const TrainerOptions& base, int steps) {
  ThreadGroup group(2);
  std::vector<Outcome> out(2);
  std::vector<std::string> errors(2);
  std::vector<std::unique_ptr<FlowTrainer>> trainers;
  for (int r = 0; r < 2; ++r) {  // here: the flows' initial parameters come from torch's global generator
    auto o = base;
    o.first_shard = r;
    o.last_shard = r + 1;
    trainers.push_back(std::make_unique<FlowTrainer>(tiny_flow(), o));
    trainers.back()->collectives = group.collectives(r);
  }
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      try {
        out[r] = train(*trainers[r], steps);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  return out;
}

// "The same run": bitwise on the CPU; on CUDA to rounding, since its atomic reductions (index_add, some backward
// sums) are not ordered and two identical runs differ in the last bits.
double same_run_tol() { return blockspin::testing::device().is_cpu() ? 0.0 : 1e-12; }

void expect_same_training(const Outcome& a, const Outcome& b, double tol) {
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    EXPECT_NEAR(a.metrics[i].loss, b.metrics[i].loss, tol * std::abs(a.metrics[i].loss)) << "step " << i;
    EXPECT_NEAR(a.metrics[i].ess_per_n, b.metrics[i].ess_per_n, tol) << "step " << i;
    EXPECT_NEAR(a.metrics[i].bank_ess, b.metrics[i].bank_ess, tol) << "step " << i;
    EXPECT_EQ(a.metrics[i].bank_resampled, b.metrics[i].bank_resampled) << "step " << i;
    EXPECT_EQ(a.metrics[i].ode_steps, b.metrics[i].ode_steps) << "step " << i;
  }
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    const double scale = std::max(1.0, a.parameters[i].abs().max().item<double>());
    EXPECT_LE(max_abs_diff(a.parameters[i], b.parameters[i]), tol * scale) << "parameter " << i;
  }
}

}  // namespace

TEST(FlowTrainerShards, TwoProcessesWithOneShardEachTrainAsOneProcessWithBoth) {
  for (auto m : {Matching::IR, Matching::UV}) {
    SCOPED_TRACE(m == Matching::IR ? "IR" : "UV");
    const auto o = sharded_options(m);
    FlowTrainer single(tiny_flow(), o);
    const auto one = train(single, 4);
    // The control refined and the bank was drawn at least once: the shared decisions were exercised.
    EXPECT_GT(one.metrics.back().ode_steps, 3);
    const auto two = train_on_two_threads(o, 4);
    expect_same_training(one, two[0], 1e-12);
    expect_same_training(two[0], two[1], same_run_tol());  // the processes agree exactly (CPU)
  }
}

TEST(FlowTrainerShards, ShardsAreIndependentStreamsAndOneShardIsTheUnshardedAlgorithm) {
  auto o = sharded_options(Matching::IR);
  o.shards = 1;
  FlowTrainer a(tiny_flow(), o), b(tiny_flow(), o);
  const auto ra = train(a, 2), rb = train(b, 2);
  expect_same_training(ra, rb, same_run_tol());  // deterministic
  o.shards = 3;
  FlowTrainer c(tiny_flow(), o);
  ASSERT_EQ(c.shards.size(), 3u);
  EXPECT_EQ(c.shards[0].batch + c.shards[1].batch + c.shards[2].batch, 15);
  EXPECT_EQ(c.shards[0].bank->options.size + c.shards[1].bank->options.size + c.shards[2].bank->options.size, 190);
  const auto rc = train(c, 2);
  EXPECT_NE(rc.metrics[0].loss, ra.metrics[0].loss);  // other streams: another batch
  EXPECT_TRUE(std::isfinite(rc.metrics[1].loss));
}

TEST(FlowTrainerShards, CheckpointCarriesEveryShardAndRefusesAnotherCount) {
  const auto o = sharded_options(Matching::UV);
  FlowTrainer a(tiny_flow(), o);
  train(a, 2);
  std::stringstream buf;
  {
    torch::serialize::OutputArchive ar;
    a.save(ar);
    ar.save_to(buf);
  }
  const auto next = train(a, 2);
  auto other = o;
  other.seed = 999;  // every shard's generator must come from the checkpoint
  FlowTrainer b(tiny_flow(), other);
  {
    torch::serialize::InputArchive ar;
    ar.load_from(buf);
    b.load(ar);
  }
  expect_same_training(next, train(b, 2), same_run_tol());

  other.shards = 3;
  FlowTrainer c(tiny_flow(), other);
  buf.seekg(0);
  torch::serialize::InputArchive ar;
  ar.load_from(buf);
  EXPECT_THROW(c.load(ar), std::invalid_argument);
  buf.seekg(0);
  torch::serialize::InputArchive model_only;
  model_only.load_from(buf);
  c.load(model_only, false);  // a model to sample from: any number of shards
  EXPECT_EQ(c.steps_done, 2);
}

TEST(FlowTrainerShards, RejectsImpossibleSplits) {
  auto o = sharded_options(Matching::IR);
  o.shards = 16;  // more shards than rows of the batch
  EXPECT_THROW(FlowTrainer(tiny_flow(), o), std::invalid_argument);
  o.shards = 2;
  o.first_shard = 1;
  o.last_shard = 1;
  EXPECT_THROW(FlowTrainer(tiny_flow(), o), std::invalid_argument);
}
