// The process group of a run (c10d: Gloo or NCCL), its collectives, the heartbeat that names a failed rank.
#include "run/distributed.h"

#include "lattice/rng.h"
#include "run/c10d_compat.h"
#include "support/errors.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

namespace blockspin::run {
namespace {

using support::ConfigError;
using support::DistributedError;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

int env_int(const char* name, int fallback) {
  const std::string v = env_or(name, "");
  if (v.empty()) return fallback;
  try {
    size_t used = 0;
    const int x = std::stoi(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  throw ConfigError(fmt::format("environment variable {}='{}': expected an integer", name, v));
}

std::string hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "?";
  return buf;
}

std::string heartbeat_key(int rank) { return "blockspin/heartbeat/" + std::to_string(rank); }

}  // namespace

// The c10d objects of a joined group and the heartbeat thread.
struct Communicator::Group {
  c10::intrusive_ptr<::c10d::Store> store, beat_store;
  c10::intrusive_ptr<compat::CollectiveGroup> pg;
  torch::Device device = torch::kCPU;  // where the backend wants tensors
  std::chrono::seconds timeout{600};
  std::thread beat;
  std::mutex mutex;
  std::condition_variable cv;
  bool stop = false;

  ~Group() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    cv.notify_all();
    if (beat.joinable()) beat.join();
  }

  void start_heartbeat(int rank) {
    beat = std::thread([this, rank] {
      std::unique_lock<std::mutex> lock(mutex);
      while (!stop) {
        try {
          beat_store->add(heartbeat_key(rank), 1);
        } catch (...) {
          // the store is gone: the run is failing; diagnose() reports it
        }
        cv.wait_for(lock, std::chrono::seconds(1), [this] { return stop; });
      }
    });
  }

  // The ranks whose heartbeat does not advance within 3 s, or why that cannot be known.
  std::string unresponsive(int me, int world) {
    std::vector<int64_t> before(world), after(world);
    try {
      std::lock_guard<std::mutex> lock(mutex);
      for (int k = 0; k < world; ++k) before[k] = beat_store->add(heartbeat_key(k), 0);
    } catch (const std::exception&) {
      return "the rendezvous store is unreachable: rank 0, which serves it, or the torchrun agent has stopped";
    }
    std::this_thread::sleep_for(std::chrono::seconds(3));
    std::vector<int> dead;
    try {
      std::lock_guard<std::mutex> lock(mutex);
      for (int k = 0; k < world; ++k) {
        after[k] = beat_store->add(heartbeat_key(k), 0);
        if (k != me && after[k] == before[k]) dead.push_back(k);
      }
    } catch (const std::exception&) {
      return "the rendezvous store became unreachable: rank 0, which serves it, or the torchrun agent has stopped";
    }
    if (dead.empty())
      return "every rank's heartbeat is alive: a rank took longer than --distributed-timeout, or stopped with an "
             "error of its own (see its output)";
    return fmt::format("rank{} {} stopped responding", dead.size() > 1 ? "s" : "", fmt::join(dead, ", "));
  }
};

Communicator::Communicator() = default;
Communicator::~Communicator() = default;

std::pair<int64_t, int64_t> Communicator::shard(int64_t n) const {
  const int64_t w = world_size_, r = rank_, base = n / w, extra = n % w;
  const int64_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

void Communicator::fail(const std::string& what, const std::string& error) const {
  const std::string first = error.substr(0, error.find('\n'));
  throw DistributedError(fmt::format("rank {} of {}: {} failed ({}); {}", rank_, world_size_, what,
                                     support::abbreviate(first, 200), group_->unresponsive(rank_, world_size_)));
}

LaunchEnvironment launch_environment() {
  LaunchEnvironment e;
  e.world_size = env_int("WORLD_SIZE", 1);
  if (e.world_size <= 1) return {};
  e.rank = env_int("RANK", -1);
  e.local_rank = env_int("LOCAL_RANK", 0);
  if (e.rank < 0 || e.rank >= e.world_size)
    throw ConfigError(
        fmt::format("environment: RANK must be in [0, WORLD_SIZE = {}) (got '{}')", e.world_size, env_or("RANK", "")));
  return e;
}

void Communicator::join(const DistributedOptions& o) {
  const LaunchEnvironment launch = launch_environment();
  if (!launch.launched()) return;
  if (o.backend != "auto" && o.backend != "gloo" && o.backend != "nccl")
    throw ConfigError(fmt::format("--distributed-backend '{}': expected auto, gloo or nccl", o.backend));
  const int world = launch.world_size, rank = launch.rank, local_rank = launch.local_rank;
  const std::string addr = env_or("MASTER_ADDR", ""), port = env_or("MASTER_PORT", "");
  if (addr.empty() || port.empty())
    throw ConfigError("environment: WORLD_SIZE > 1 needs MASTER_ADDR and MASTER_PORT (launch with torchrun)");
  const std::string backend = o.backend == "auto" ? (compat::nccl_available() ? "nccl" : "gloo") : o.backend;
  if (backend == "nccl" && !compat::nccl_available())
    throw ConfigError(
        "--distributed-backend nccl: this build has no NCCL (a CUDA LibTorch configured with "
        "-DBLOCKSPIN_WITH_NCCL=ON and a visible GPU are needed); use gloo");

  auto group = std::make_unique<Group>();
  group->timeout = o.timeout;
  const bool agent = env_or("TORCHELASTIC_USE_AGENT_STORE", "") == "True";
  const std::string prefix = agent ? "/worker/attempt_" + env_or("TORCHELASTIC_RESTART_COUNT", "0") : "";
  try {
    group->store =
        compat::tcp_store(addr, env_int("MASTER_PORT", 0), !agent && rank == 0, world, o.timeout, prefix, true);
    group->beat_store = compat::tcp_store(addr, env_int("MASTER_PORT", 0), false, world, o.timeout, prefix, false);
  } catch (const std::exception& e) {
    throw DistributedError(fmt::format("rank {} of {}: cannot reach the rendezvous store at {}:{} within {} s ({})",
                                       rank, world, addr, port, o.timeout.count(),
                                       support::abbreviate(std::string(e.what()).substr(0, 300), 200)));
  }
  group_ = std::move(group);
  rank_ = rank;
  world_size_ = world;
  backend_ = backend;
  group_->start_heartbeat(rank);
  try {
    if (backend == "nccl") {
      group_->device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
      group_->pg = compat::nccl_group(group_->store, rank, world, o.timeout);
    } else {
      group_->pg = compat::gloo_group(group_->store, rank, world, o.timeout);
    }
  } catch (const std::exception& e) {
    fail("creating the " + backend + " process group", e.what());
  }
  const auto all = allgather_bytes(hostname(), "exchanging host names");
  hosts_.assign(all.begin(), all.end());
  if (rank != 0) spdlog::set_level(spdlog::level::warn);  // progress and info once, from rank 0
  spdlog::set_pattern(fmt::format("[%H:%M:%S.%e] [rank {}] [%^%l%$] %v", rank));
  spdlog::info("distributed: {} ranks, backend {}, hosts {}", world, backend, fmt::join(hosts_, ", "));
}

namespace {

// Tensors grouped by real dtype, flattened into one buffer per dtype (complex as real pairs).
struct Coalesced {
  std::map<c10::ScalarType, std::vector<size_t>> members;
  std::vector<torch::Tensor> real;  // per input: the real view
};

torch::Tensor real_view(const torch::Tensor& t) { return t.is_complex() ? torch::view_as_real(t) : t; }

}  // namespace

void Communicator::allreduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what) const {
  if (!distributed() || tensors.empty()) return;
  std::map<c10::ScalarType, std::vector<size_t>> by_dtype;
  for (size_t i = 0; i < tensors.size(); ++i) by_dtype[real_view(tensors[i]).scalar_type()].push_back(i);
  for (const auto& [dtype, members] : by_dtype) {
    std::vector<torch::Tensor> flat;
    for (size_t i : members) flat.push_back(real_view(tensors[i]).reshape({-1}));
    std::vector<torch::Tensor> buffer{torch::cat(flat).to(group_->device).contiguous()};
    bytes_ += buffer[0].numel() * static_cast<int64_t>(buffer[0].element_size());
    try {
      group_->pg->allreduce(buffer)->wait(group_->timeout);
    } catch (const std::exception& e) {
      fail("allreduce of " + what, e.what());
    }
    const auto reduced = buffer[0].to(tensors[members[0]].device());
    int64_t offset = 0;
    for (size_t i : members) {
      auto r = real_view(tensors[i]);
      r.copy_(reduced.slice(0, offset, offset + r.numel()).view(r.sizes()));
      offset += r.numel();
    }
  }
}

void Communicator::broadcast(std::vector<torch::Tensor>& tensors, const std::string& what, int root) const {
  if (!distributed()) return;
  for (auto& t : tensors) {
    auto r = real_view(t);
    std::vector<torch::Tensor> buffer{r.contiguous().to(group_->device)};
    bytes_ += buffer[0].numel() * static_cast<int64_t>(buffer[0].element_size());
    ::c10d::BroadcastOptions opts;
    opts.rootRank = root;
    try {
      group_->pg->broadcast(buffer, opts)->wait(group_->timeout);
    } catch (const std::exception& e) {
      fail("broadcast of " + what, e.what());
    }
    torch::NoGradGuard no_grad;
    r.copy_(buffer[0].to(r.device()));
  }
}

std::string Communicator::broadcast_bytes(const std::string& bytes, const std::string& what, int root) const {
  if (!distributed()) return bytes;
  std::vector<torch::Tensor> size{torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kLong)};
  broadcast(size, what + " (size)", root);
  const int64_t n = size[0].item<int64_t>();
  auto data = torch::empty({n}, torch::kUInt8);
  if (rank_ == root) std::memcpy(data.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  std::vector<torch::Tensor> buffer{data};
  if (n > 0) broadcast(buffer, what, root);
  return std::string(reinterpret_cast<const char*>(buffer[0].data_ptr<uint8_t>()), static_cast<size_t>(n));
}

namespace {

std::string tensor_bytes(const torch::Tensor& t) {
  std::ostringstream out;
  torch::save(t.to(torch::kCPU).contiguous(), out);
  return out.str();
}

torch::Tensor cat_parts(const std::vector<std::string>& parts, int64_t dim) {
  std::vector<torch::Tensor> all;
  for (const auto& p : parts) {
    torch::Tensor t;
    std::istringstream in(p);
    torch::load(t, in);
    all.push_back(t);
  }
  return torch::cat(all, dim);
}

}  // namespace

torch::Tensor Communicator::allgather_cat(const torch::Tensor& mine, int64_t dim, const std::string& what) const {
  if (!distributed()) return mine;
  return cat_parts(allgather_bytes(tensor_bytes(mine), what), dim);
}

torch::Tensor Communicator::gather_cat(const torch::Tensor& mine, int64_t dim, const std::string& what,
                                       int root) const {
  if (!distributed()) return mine;
  const auto parts = gather_bytes(tensor_bytes(mine), what, root);
  return rank_ == root ? cat_parts(parts, dim) : torch::Tensor();
}

bool Communicator::broadcast_flag(bool flag, const std::string& what, int root) const {
  if (!distributed()) return flag;
  std::vector<torch::Tensor> t{torch::tensor({flag ? 1 : 0}, torch::kInt)};
  broadcast(t, what, root);
  return t[0].item<int>() != 0;
}

std::vector<std::string> Communicator::allgather_bytes(const std::string& bytes, const std::string& what) const {
  if (!distributed()) return {bytes};
  auto gather = [&](const torch::Tensor& mine, const std::string& label) {
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int k = 0; k < world_size_; ++k) out[0].push_back(torch::empty_like(mine));
    std::vector<torch::Tensor> in{mine};
    bytes_ += mine.numel() * static_cast<int64_t>(mine.element_size());
    try {
      group_->pg->allgather(out, in)->wait(group_->timeout);
    } catch (const std::exception& e) {
      fail("allgather of " + label, e.what());
    }
    return out[0];
  };
  const auto sizes = gather(torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kLong), what + " (sizes)");
  int64_t longest = 0;
  for (const auto& s : sizes) longest = std::max(longest, s.item<int64_t>());
  auto mine = torch::zeros({std::max<int64_t>(longest, 1)}, torch::kUInt8);
  std::memcpy(mine.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  const auto all = gather(mine, what);
  std::vector<std::string> result;
  for (int k = 0; k < world_size_; ++k)
    result.emplace_back(reinterpret_cast<const char*>(all[k].data_ptr<uint8_t>()),
                        static_cast<size_t>(sizes[k].item<int64_t>()));
  return result;
}

std::vector<std::string> Communicator::gather_bytes(const std::string& bytes, const std::string& what, int root) const {
  if (!distributed()) return {bytes};
  auto transfer = [&](torch::Tensor t, int peer, int tag, bool send) {
    std::vector<torch::Tensor> buffer{t};
    try {
      if (send) {
        bytes_ += t.numel() * static_cast<int64_t>(t.element_size());
        group_->pg->send(buffer, peer, tag)->wait(group_->timeout);
      } else {
        group_->pg->recv(buffer, peer, tag)->wait(group_->timeout);
      }
    } catch (const std::exception& e) {
      fail(fmt::format("{} of {} ({} rank {})", send ? "send" : "receive", what, send ? "to" : "from", peer), e.what());
    }
    return buffer[0];
  };
  if (rank_ != root) {
    transfer(torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kLong), root, 1, true);
    auto data = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
    std::memcpy(data.data_ptr<uint8_t>(), bytes.data(), bytes.size());
    if (!bytes.empty()) transfer(data, root, 2, true);
    return {};
  }
  std::vector<std::string> result(world_size_);
  result[root] = bytes;
  for (int k = 0; k < world_size_; ++k) {
    if (k == root) continue;
    const int64_t n = transfer(torch::empty({1}, torch::kLong), k, 1, false).item<int64_t>();
    if (n == 0) continue;
    const auto data = transfer(torch::empty({n}, torch::kUInt8), k, 2, false);
    result[k].assign(reinterpret_cast<const char*>(data.data_ptr<uint8_t>()), static_cast<size_t>(n));
  }
  return result;
}

void Communicator::barrier(const std::string& what) const {
  if (!distributed()) return;
  try {
    group_->pg->barrier()->wait(group_->timeout);
  } catch (const std::exception& e) {
    fail("barrier (" + what + ")", e.what());
  }
}

nlohmann::json Communicator::describe() const {
  return {{"world_size", world_size_},
          {"backend", backend_},
          {"hosts", hosts_.empty() ? std::vector<std::string>{hostname()} : hosts_}};
}

namespace {
Communicator& the_communicator() {
  static Communicator c;
  return c;
}
}  // namespace

void init_distributed(const DistributedOptions& options) { the_communicator().join(options); }

const Communicator& communicator() { return the_communicator(); }

uint64_t rank_seed(uint64_t seed, int rank) { return lattice::stream_seed(seed, rank); }

}  // namespace blockspin::run
