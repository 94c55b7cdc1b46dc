// Atomic file replacement (see atomic_file.h).
#include "support/atomic_file.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <regex>
#include <system_error>
#include <utility>
#include <vector>

namespace blockspin::support {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// Closes a file descriptor on scope exit unless released.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

OutputError write_error(const fs::path& target, const std::string& what) {
  return OutputError(fmt::format("cannot write '{}': {}", target.string(), what));
}

// "TARGET.tmp.<pid>.<counter>": unique within this process; remove_stale_temp_files knows the pattern.
fs::path temp_path(const fs::path& target) {
  static std::atomic<unsigned long> counter{0};
  return fs::path(target.string() + fmt::format(".tmp.{}.{}", ::getpid(), counter++));
}

}  // namespace

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void write_file_atomic(const fs::path& path, const std::string& contents) {
  if (!path.has_filename()) throw write_error(path, "not a file path");
  const fs::path tmp = temp_path(path);
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return write_error(path, fmt::format("{}: {}", what, errno_text(err)));
  };

  Fd file{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)};
  if (file.fd < 0) {
    const int err = errno;
    throw write_error(path, fmt::format("creating temporary file '{}': {}", tmp.string(), errno_text(err)));
  }
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(file.fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail("write failed", errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(file.fd) != 0) throw fail(fmt::format("fsync of '{}' failed", tmp.string()), errno);
  if (::close(file.release()) != 0) throw fail("close failed", errno);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw fail(fmt::format("renaming '{}' over it failed", tmp.string()), ec.value());
  sync_directory(path.parent_path());
}

void write_json_atomic(const fs::path& path, const nlohmann::json& j, int indent) {
  std::string text;
  try {
    text = j.dump(indent) + "\n";
  } catch (const nlohmann::json::exception& e) {
    throw write_error(path, e.what());
  }
  write_file_atomic(path, text);
}

int remove_stale_temp_files(const fs::path& dir) {
  static const std::regex pattern(R"(.*\.tmp\.([0-9]+)\.[0-9]+$)");
  int removed = 0;
  std::error_code ec;
  std::vector<fs::path> stale;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::smatch m;
    const std::string name = it->path().filename().string();
    if (!it->is_regular_file(ec) || !std::regex_match(name, m, pattern)) continue;
    const long pid = std::stol(m[1].str());
    const bool alive = pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
    if (!alive || pid == ::getpid()) stale.push_back(it->path());
  }
  for (const auto& p : stale) removed += fs::remove(p, ec) ? 1 : 0;
  return removed;
}

std::string read_file(const fs::path& path) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw InputError(fmt::format("cannot read '{}': {}", path.string(), errno_text(errno)));
  std::string out;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(file.fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(fmt::format("cannot read '{}': {}", path.string(), errno_text(errno)));
    if (n == 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace blockspin::support
