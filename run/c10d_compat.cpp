// c10d objects on LibTorch 1.13 and 2.x (see c10d_compat.h).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1  // ProcessGroupGloo.hpp is wrapped in it; Debian's libtorch has Gloo (headers: libgloo-dev)
#endif
#include "run/c10d_compat.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef BLOCKSPIN_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace blockspin::run::compat {

c10::intrusive_ptr<::c10d::Store> tcp_store(const std::string& host, int port, bool is_server, int world_size,
                                            std::chrono::seconds timeout, const std::string& prefix, bool join) {
  ::c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = is_server;
  o.numWorkers = static_cast<std::size_t>(world_size);
  o.waitWorkers = join;  // 1.13 counts a process into the rendezvous only when it waits
  o.timeout = timeout;
  c10::intrusive_ptr<::c10d::Store> store = c10::make_intrusive<::c10d::TCPStore>(host, o);
  if (!prefix.empty()) store = c10::make_intrusive<::c10d::PrefixStore>(prefix, store);
  return store;
}

c10::intrusive_ptr<CollectiveGroup> gloo_group(const c10::intrusive_ptr<::c10d::Store>& store, int rank, int size,
                                               std::chrono::seconds timeout) {
  auto options = ::c10d::ProcessGroupGloo::Options::create(timeout);
  const char* ifnames = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifnames && *ifnames) {
    std::stringstream list(ifnames);
    for (std::string name; std::getline(list, name, ',');)
      options->devices.push_back(::c10d::ProcessGroupGloo::createDeviceForInterface(name));
  } else {
    options->devices.push_back(::c10d::ProcessGroupGloo::createDefaultDevice());
  }
  return c10::make_intrusive<::c10d::ProcessGroupGloo>(store, rank, size, options);
}

#ifdef BLOCKSPIN_WITH_NCCL
bool nccl_available() { return torch::cuda::is_available(); }

c10::intrusive_ptr<CollectiveGroup> nccl_group(const c10::intrusive_ptr<::c10d::Store>& store, int rank, int size,
                                               std::chrono::seconds timeout) {
  auto options = ::c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<::c10d::ProcessGroupNCCL>(store, rank, size, options);
}
#else
bool nccl_available() { return false; }

c10::intrusive_ptr<CollectiveGroup> nccl_group(const c10::intrusive_ptr<::c10d::Store>&, int, int,
                                               std::chrono::seconds) {
  throw std::logic_error("nccl_group: this build has no NCCL");
}
#endif

}  // namespace blockspin::run::compat
