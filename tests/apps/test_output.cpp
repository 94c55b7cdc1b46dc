// Tests for apps/output: atomic writes, output-directory preparation and file reads.
#include "apps/output.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;

// The message of the OutputError that `f` throws ("" and a test failure when it throws none).
template <class F>
std::string output_error(F&& f) {
  try {
    f();
  } catch (const OutputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an OutputError";
  return "";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "message: " << (text)

class OutputDir : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() / ("blockspin_test_output_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Sorted names of the entries in `dir`.
  static std::vector<std::string> entries(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  fs::path root_;
};

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
  EXPECT_CONTAINS(output_error([&] { read_file(root_ / "missing.txt"); }), (root_ / "missing.txt").string());
  EXPECT_CONTAINS(output_error([&] { read_file(root_); }), root_.string());
}

TEST_F(OutputDir, PrepareCreatesNewDirectoryWithParents) {
  const fs::path dir = root_ / "a" / "b" / "run";
  prepare_output_dir(dir, false, false);
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_TRUE(entries(dir).empty());
}

TEST_F(OutputDir, PrepareAcceptsExistingEmptyDirectory) {
  const fs::path dir = root_ / "empty";
  fs::create_directory(dir);
  EXPECT_NO_THROW(prepare_output_dir(dir, false, false));
  EXPECT_TRUE(entries(dir).empty());
}

TEST_F(OutputDir, PrepareRefusesNonEmptyDirectoryUnlessForcedOrResumed) {
  const fs::path dir = root_ / "run";
  fs::create_directory(dir);
  write_file_atomic(dir / "results.json", "{\"old\": true}");
  EXPECT_EQ(output_error([&] { prepare_output_dir(dir, false, false); }),
            "output directory '" + dir.string() +
                "' already exists and is not empty (use --force to overwrite or --resume to continue)");
  EXPECT_EQ(read_file(dir / "results.json"), "{\"old\": true}");  // untouched
  EXPECT_EQ(entries(dir), std::vector<std::string>{"results.json"});

  EXPECT_NO_THROW(prepare_output_dir(dir, true, false));
  EXPECT_NO_THROW(prepare_output_dir(dir, false, true));
  EXPECT_EQ(read_file(dir / "results.json"), "{\"old\": true}");  // preparing never deletes anything
}

TEST_F(OutputDir, PrepareRejectsRegularFileAndCreatesNothing) {
  const fs::path file = root_ / "taken";
  write_file_atomic(file, "keep me");
  EXPECT_EQ(output_error([&] { prepare_output_dir(file, false, false); }),
            "output path '" + file.string() + "' exists and is not a directory");
  EXPECT_CONTAINS(output_error([&] { prepare_output_dir(file, true, true); }), "not a directory");
  // A directory below a regular file cannot be created; nothing is left behind.
  EXPECT_CONTAINS(output_error([&] { prepare_output_dir(file / "sub" / "run", false, false); }), file.string());
  EXPECT_EQ(read_file(file), "keep me");
  EXPECT_EQ(entries(root_), std::vector<std::string>{"taken"});
  EXPECT_CONTAINS(output_error([&] { prepare_output_dir("", false, false); }), "must not be empty");
}

}  // namespace
}  // namespace blockspin::apps
