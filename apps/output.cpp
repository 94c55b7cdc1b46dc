// Run outputs: output-directory preparation, atomic file writes (temp file + rename) and whole-file reads.
#include "apps/output.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>
#include <vector>

namespace blockspin::apps {

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

// Best effort: make a rename in `dir` durable.
void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

void write_file_atomic(const fs::path& path, const std::string& contents) {
  static std::atomic<unsigned long> counter{0};
  if (!path.has_filename()) throw OutputError(fmt::format("cannot write '{}': not a file path", path.string()));
  const fs::path tmp = fs::path(path.string() + fmt::format(".tmp.{}.{}", ::getpid(), counter++));
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return OutputError(fmt::format("cannot write '{}': {}: {}", path.string(), what, errno_text(err)));
  };

  Fd file{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)};
  if (file.fd < 0) {
    const int err = errno;
    throw OutputError(fmt::format("cannot write '{}': creating temporary file '{}': {}", path.string(), tmp.string(),
                                  errno_text(err)));
  }
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(file.fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail("write failed", errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(file.fd) != 0) throw fail("fsync failed", errno);
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
    throw OutputError(fmt::format("cannot write '{}': {}", path.string(), e.what()));
  }
  write_file_atomic(path, text);
}

void prepare_output_dir(const fs::path& dir, bool force, bool resume) {
  if (dir.empty()) throw OutputError("output directory must not be empty");
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw OutputError(fmt::format("cannot use output directory '{}': {}", dir.string(), ec.message()));
  }
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      throw OutputError(fmt::format("output path '{}' exists and is not a directory", dir.string()));
    }
    const bool empty = fs::is_empty(dir, ec);
    if (ec) throw OutputError(fmt::format("cannot read output directory '{}': {}", dir.string(), ec.message()));
    if (!empty && !force && !resume) {
      throw OutputError(fmt::format(
          "output directory '{}' already exists and is not empty (use --force to overwrite or --resume to continue)",
          dir.string()));
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      throw OutputError(fmt::format("output directory '{}' is not writable: {}", dir.string(), errno_text(errno)));
    }
    return;
  }

  // Remember which ancestors are missing so that a failure can remove exactly what was created.
  std::vector<fs::path> missing;  // deepest first
  std::error_code ignored;
  for (fs::path p = fs::absolute(dir, ignored).lexically_normal(); p.has_relative_path(); p = p.parent_path()) {
    if (fs::exists(fs::symlink_status(p, ignored))) break;
    missing.push_back(p);
  }
  fs::create_directories(dir, ec);
  if (!ec && ::access(dir.c_str(), W_OK | X_OK) != 0) ec = std::error_code(errno, std::generic_category());
  if (ec) {
    for (const fs::path& p : missing) fs::remove(p, ignored);  // only removes (empty) directories created here
    throw OutputError(fmt::format("cannot create output directory '{}': {}", dir.string(), ec.message()));
  }
}

std::string read_file(const fs::path& path) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw OutputError(fmt::format("cannot read '{}': {}", path.string(), errno_text(errno)));
  std::string out;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(file.fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw OutputError(fmt::format("cannot read '{}': {}", path.string(), errno_text(errno)));
    if (n == 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace blockspin::apps
