// Tests of atomic file writes, stale temp files and whole-file reads.
#include "support/atomic_file.h"

#include <fmt/format.h>
#include "support/output_dir_fixture.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace blockspin::support {
namespace {

namespace fs = std::filesystem;

using namespace blockspin::testing;

TEST_F(OutputDir, AtomicWriteHasExactContentsAndLeavesNoTempFiles) {
  const fs::path target = root_ / "result.bin";
  const std::string contents = std::string("line 1\nbinary \0\xff bytes\n", 22) + std::string(200000, 'x');
  write_file_atomic(target, contents);
  EXPECT_EQ(read_file(target), contents);
  EXPECT_EQ(entries(root_), std::vector<std::string>{"result.bin"});

  write_file_atomic(target, "replaced");  // overwrites the old file
  EXPECT_EQ(read_file(target), "replaced");
  write_file_atomic(target, "");
  EXPECT_EQ(read_file(target), "");
  EXPECT_EQ(entries(root_), std::vector<std::string>{"result.bin"});
}

TEST_F(OutputDir, WriteJsonAtomic) {
  const nlohmann::json j = {{"beta", 6.0}, {"shape", {8, 8}}, {"name", "wilson"}};
  write_json_atomic(root_ / "config.json", j);
  const std::string text = read_file(root_ / "config.json");
  EXPECT_EQ(nlohmann::json::parse(text), j);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\n  \"beta\""), std::string::npos) << text;  // indent 2

  const nlohmann::json bad = std::string("\xff\xfe");  // invalid UTF-8 cannot be written as JSON
  EXPECT_CONTAINS(output_error([&] { write_json_atomic(root_ / "bad.json", bad); }), "bad.json");
  EXPECT_EQ(entries(root_), std::vector<std::string>{"config.json"});
}

TEST_F(OutputDir, WriteIntoMissingDirectoryFailsAndLeavesNothing) {
  const fs::path target = root_ / "no_such_dir" / "out.json";
  const std::string msg = output_error([&] { write_file_atomic(target, "data"); });
  EXPECT_CONTAINS(msg, target.string());
  EXPECT_FALSE(fs::exists(root_ / "no_such_dir"));
  EXPECT_TRUE(entries(root_).empty());
}

TEST_F(OutputDir, FailedRenameRemovesTempFileAndKeepsTarget) {
  const fs::path target = root_ / "occupied";
  fs::create_directories(target / "inside");  // a non-empty directory cannot be replaced by a file
  EXPECT_CONTAINS(output_error([&] { write_file_atomic(target, "data"); }), target.string());
  EXPECT_EQ(entries(root_), std::vector<std::string>{"occupied"});
  EXPECT_TRUE(fs::is_directory(target / "inside"));
}

TEST_F(OutputDir, ReadFileErrorsNameThePath) {
  auto input_error = [](auto&& f) {
    try {
      f();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    ADD_FAILURE() << "expected an InputError";
    return std::string();
  };
  EXPECT_CONTAINS(input_error([&] { read_file(root_ / "missing.txt"); }), (root_ / "missing.txt").string());
  EXPECT_CONTAINS(input_error([&] { read_file(root_); }), root_.string());
}

TEST_F(OutputDir, StaleTempFilesOfDeadProcessesAreRemoved) {
  // A temp file of this process counts as stale (no write is in flight while the caller asks); pid 1 is alive and
  // not ours (kill(1, 0) gives EPERM or 0), so its file stays; an impossible pid is dead.
  fs::create_directories(root_ / "chunks");
  const auto mine = root_ / fmt::format("a.h5.tmp.{}.3", ::getpid());
  const auto live = root_ / "b.h5.tmp.1.0";
  const auto dead = root_ / "chunks" / "c.h5.tmp.2147483600.7";
  const auto other = root_ / "results.json";
  for (const auto& p : {mine, live, dead, other}) write_file_atomic(p, "x");
  EXPECT_EQ(remove_stale_temp_files(root_), 2);
  EXPECT_FALSE(fs::exists(mine));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(other));
}

}  // namespace
}  // namespace blockspin::support
