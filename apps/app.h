// The apps layer: subcommands see the support, io and run layers unqualified (they are its vocabulary).
#pragma once

namespace blockspin::support {}
namespace blockspin::io {}
namespace blockspin::run {}

namespace blockspin::apps {
using namespace blockspin::support;
using namespace blockspin::io;
using namespace blockspin::run;
}  // namespace blockspin::apps
