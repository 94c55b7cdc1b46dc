// Data parallelism over processes with PyTorch's own engine, c10d: the process group of a run launched by torchrun
// (or srun / any launcher that sets the torchrun environment), or a single process when no such environment is set.
//
// Environment (as torchrun sets it): RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; LOCAL_RANK (the CUDA device on a
// multi-GPU node); TORCHELASTIC_USE_AGENT_STORE=True: torchrun's agent already serves the rendezvous store on
// MASTER_PORT (every rank connects as a client, under the prefix /worker/attempt_<TORCHELASTIC_RESTART_COUNT>, as
// torch/distributed/rendezvous.py does); otherwise rank 0 serves it. Backend: Gloo (CPU tensors; every build),
// NCCL (CUDA tensors; CUDA builds configured with BLOCKSPIN_WITH_NCCL). Collectives take tensors on any device and
// dtype (complex through view_as_real: Gloo aborts on complex) and stage them where the backend needs them.
//
// Failure: a collective that fails (a peer died: connection closed; or the timeout passed) throws
// support::DistributedError naming the collective and the ranks that stopped responding (every rank beats a
// heartbeat into the rendezvous store once a second; a rank whose beat stalls is named).
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace blockspin::run {

struct DistributedOptions {
  std::string backend = "auto";  ///< "auto" (NCCL when built with it and CUDA is present, else Gloo), "gloo", "nccl"
  /// A collective or the rendezvous waiting longer than this fails (PyTorch's default, 30 min: an fp-data round
  /// waits for the slowest rank's batch).
  std::chrono::seconds timeout{1800};
};

/// This process's place in a run and the collectives over all its processes. With one process every collective is
/// the identity and costs nothing.
class Communicator {
 public:
  Communicator();  ///< a single process
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool is_root() const { return rank_ == 0; }
  bool distributed() const { return world_size_ > 1; }
  /// "none" (one process), "gloo" or "nccl".
  const std::string& backend() const { return backend_; }

  /// The items [begin, end) of n that this rank takes: contiguous blocks, the first n % world_size ranks one more.
  std::pair<int64_t, int64_t> shard(int64_t n) const;

  /// In place: every tensor becomes the sum over ranks (one coalesced message per dtype). `what` names the
  /// operation in errors.
  void allreduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what) const;
  /// In place: every tensor becomes rank `root`'s.
  void broadcast(std::vector<torch::Tensor>& tensors, const std::string& what, int root = 0) const;
  /// Rank `root`'s bytes, on every rank.
  std::string broadcast_bytes(const std::string& bytes, const std::string& what, int root = 0) const;
  /// Every rank's bytes, indexed by rank, on every rank.
  std::vector<std::string> allgather_bytes(const std::string& bytes, const std::string& what) const;
  /// Every rank's bytes on rank `root` (indexed by rank); an empty vector elsewhere.
  std::vector<std::string> gather_bytes(const std::string& bytes, const std::string& what, int root = 0) const;
  /// Every rank's tensor (CPU; shapes may differ along `dim`) concatenated in rank order along `dim`, on every rank.
  torch::Tensor allgather_cat(const torch::Tensor& mine, int64_t dim, const std::string& what) const;
  /// The same on rank `root` only (an undefined tensor elsewhere).
  torch::Tensor gather_cat(const torch::Tensor& mine, int64_t dim, const std::string& what, int root = 0) const;
  /// Rank `root`'s flag on every rank.
  bool broadcast_flag(bool flag, const std::string& what, int root = 0) const;
  void barrier(const std::string& what) const;

  /// {"world_size", "backend", "hosts": [host of rank 0, ...]} (hosts gathered once, at set-up).
  nlohmann::json describe() const;
  /// Bytes this process has sent through collectives so far (payload, not protocol), for communication volumes.
  int64_t bytes_communicated() const { return bytes_; }

  /// Joins the process group the environment describes (a no-op without one). Called once, by init_distributed.
  void join(const DistributedOptions& options);

 private:
  struct Group;
  [[noreturn]] void fail(const std::string& what, const std::string& error) const;
  std::unique_ptr<Group> group_;
  int rank_ = 0, world_size_ = 1;
  std::string backend_ = "none";
  std::vector<std::string> hosts_;
  mutable int64_t bytes_ = 0;
};

/// A process's place in a launch, as the environment says (torchrun / srun variables; see above).
struct LaunchEnvironment {
  int world_size = 1, rank = 0, local_rank = 0;
  bool launched() const { return world_size > 1; }
};

/// WORLD_SIZE, RANK and LOCAL_RANK (one process, rank 0, when WORLD_SIZE is absent or 1); ConfigError for a value
/// that is not an integer or a RANK outside [0, WORLD_SIZE). Needs no rendezvous.
LaunchEnvironment launch_environment();

/// Joins the process group of the environment (torchrun / srun variables; see above) or stays a single process.
/// Throws support::ConfigError for an unknown or unavailable backend and support::DistributedError when the
/// rendezvous fails. Call once, before any other rank-dependent work.
void init_distributed(const DistributedOptions& options);

/// This process's communicator (a single process until init_distributed joined a group).
const Communicator& communicator();

/// The seed of rank `rank`'s random-number streams derived from the run's `seed`: lattice::stream_seed(seed, rank)
/// (seed itself for rank 0: a one-process run is unchanged; a single-process run can reproduce any rank's stream
/// with config seed = rank_seed(seed, rank)).
uint64_t rank_seed(uint64_t seed, int rank);

}  // namespace blockspin::run
