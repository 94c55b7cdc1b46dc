// The c10d API differences between LibTorch 1.13 (Debian) and 2.x (the CUDA wheel), in one place: which class the
// collectives are called on, how a store, a Gloo and an NCCL group are made.
#pragma once

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/version.h>

#include <chrono>
#include <string>

namespace blockspin::run::compat {

// 1.13: ProcessGroupGloo/NCCL derive from ProcessGroup; 2.x: from Backend (the collectives are the same calls).
#if TORCH_VERSION_MAJOR >= 2
using CollectiveGroup = ::c10d::Backend;
#else
using CollectiveGroup = ::c10d::ProcessGroup;
#endif

/// A TCPStore client of host:port (its server when `is_server`), under `prefix` when not empty (torchrun's agent
/// store: "/worker/attempt_N"). With `join` the process counts itself into the rendezvous and waits (up to
/// `timeout`) until all world_size processes have (as PyTorch's env:// rendezvous does); a second connection of the
/// same process passes join = false.
c10::intrusive_ptr<::c10d::Store> tcp_store(const std::string& host, int port, bool is_server, int world_size,
                                            std::chrono::seconds timeout, const std::string& prefix, bool join);

/// A Gloo group over `store` (network device from GLOO_SOCKET_IFNAME when set, else the host's default, as
/// PyTorch's Python front end does).
c10::intrusive_ptr<CollectiveGroup> gloo_group(const c10::intrusive_ptr<::c10d::Store>& store, int rank, int size,
                                               std::chrono::seconds timeout);

/// Whether this build can make NCCL groups (a CUDA LibTorch, BLOCKSPIN_WITH_NCCL) and a GPU is visible.
bool nccl_available();
c10::intrusive_ptr<CollectiveGroup> nccl_group(const c10::intrusive_ptr<::c10d::Store>& store, int rank, int size,
                                               std::chrono::seconds timeout);

}  // namespace blockspin::run::compat
