// Tests for apps/config: loading, overrides, typed reads with defaults, validation and unknown-key reports.
#include "support/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace blockspin::support {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The message of the ConfigError that `f` throws ("" and a test failure when it throws none).
template <class F>
std::string config_error(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "message: " << (text)

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("blockspin_test_config_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  fs::path dir_;
};

TEST_F(ConfigFile, LoadsFileAndReadsEveryType) {
  const std::string path = write("run.json", R"({
    "lattice": {"shape": [8, 16], "spacing": [0.5, 1]},
    "n_configs": 100, "beta": 6, "ratio": 0.25, "name": "wilson", "cold": true,
    "tags": ["a", "b"], "extra": {"any": [1, "x"]}  // comments are allowed
  })");
  Config cfg = Config::load(path);
  EXPECT_EQ(cfg.source(), path);
  EXPECT_EQ(cfg.require<std::vector<int64_t>>("lattice.shape"), (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(cfg.get<std::vector<double>>("lattice.spacing", {}), (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(cfg.get<int64_t>("n_configs", 1), 100);
  EXPECT_EQ(cfg.get<int>("n_configs", 1), 100);
  EXPECT_DOUBLE_EQ(cfg.get<double>("beta", 0.0), 6.0);  // an integer is a number
  EXPECT_DOUBLE_EQ(cfg.require<double>("ratio"), 0.25);
  EXPECT_EQ(cfg.get<std::string>("name", "x"), "wilson");
  EXPECT_TRUE(cfg.require<bool>("cold"));
  EXPECT_EQ(cfg.get<std::vector<std::string>>("tags", {}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(cfg.get<json>("extra", json()), json::parse(R"({"any": [1, "x"]})"));
  EXPECT_NO_THROW(cfg.check_unused());
}

TEST_F(ConfigFile, MalformedJsonNamesFileLineAndColumn) {
  const std::string path = write("bad.json", "{\n  \"a\": 1,\n  \"b\": ,\n}\n");
  const std::string msg = config_error([&] { Config::load(path); });
  EXPECT_CONTAINS(msg, "malformed JSON in config file '" + path + "' at line 3, column 8:");
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;

  const std::string truncated = write("truncated.json", "{\"a\": [1,\n 2");
  EXPECT_CONTAINS(config_error([&] { Config::load(truncated); }), "at line 2, column 3:");
  EXPECT_CONTAINS(config_error([&] { Config::load((dir_ / "missing.json").string()); }),
                  "cannot read config file '" + (dir_ / "missing.json").string() + "'");
}

TEST_F(ConfigFile, DuplicateKeysAndNonObjectTopLevelAreErrors) {
  const std::string dup = write("dup.json", R"({"lattice": {"shape": [4], "shape": [8]}})");
  EXPECT_CONTAINS(config_error([&] { Config::load(dup); }), "duplicate key 'shape'");
  const std::string list = write("list.json", "[1, 2]");
  EXPECT_CONTAINS(config_error([&] { Config::load(list); }), "top level must be a JSON object");
}

TEST(Config, TypeErrorsNameTheFullKeyPath) {
  Config cfg = Config::from_json(json::parse(R"({
    "actions": [{"beta": 6.0}, {"beta": "six"}], "n": true, "m": 2.5, "k": 8.0, "big": 1e10,
    "lattice": {"shape": [8, "a"]}, "name": 3})"));
  auto actions = cfg.children("actions");
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[1].path(), "actions[1]");
  EXPECT_DOUBLE_EQ(actions[0].get<double>("beta", 0.0), 6.0);
  EXPECT_EQ(config_error([&] { actions[1].get<double>("beta", 0.0); }),
            "config key 'actions[1].beta': expected a number, got string \"six\"");
  EXPECT_EQ(config_error([&] { cfg.get<int64_t>("n", 0); }), "config key 'n': expected an integer, got boolean true");
  EXPECT_EQ(config_error([&] { cfg.get<double>("n", 0.0); }), "config key 'n': expected a number, got boolean true");
  EXPECT_EQ(config_error([&] { cfg.require<int64_t>("m"); }), "config key 'm': expected an integer, got number 2.5");
  EXPECT_EQ(cfg.require<int64_t>("k"), 8);  // an integral double is an integer
  EXPECT_EQ(cfg.require<int64_t>("big"), 10000000000);
  EXPECT_CONTAINS(config_error([&] { cfg.require<int>("big"); }), "expected a 32-bit integer");
  EXPECT_EQ(config_error([&] { cfg.child("lattice").require<std::vector<int64_t>>("shape"); }),
            "config key 'lattice.shape[1]': expected an integer, got string \"a\"");
  EXPECT_EQ(config_error([&] { cfg.get<std::string>("name", ""); }),
            "config key 'name': expected a string, got number 3");
  EXPECT_EQ(config_error([&] { cfg.require<bool>("lattice.shape"); }),
            "config key 'lattice.shape': expected a boolean, got list [8,\"a\"]");
  EXPECT_EQ(config_error([&] { cfg.get<int64_t>("name.x", 1); }),
            "config key 'name': expected an object, got number 3");
}

TEST(Config, MissingRequiredKey) {
  Config cfg = Config::from_json(json::parse(R"({"lattice": {}})"));
  EXPECT_EQ(config_error([&] { cfg.require<int64_t>("n_configs"); }),
            "config key 'n_configs' is required (expected an integer)");
  EXPECT_EQ(config_error([&] { cfg.child("lattice").require<std::vector<int64_t>>("shape"); }),
            "config key 'lattice.shape' is required (expected a list of integers)");
  EXPECT_EQ(config_error([&] { cfg.child("flow").require<std::string>("kind"); }),
            "config key 'flow.kind' is required (expected a string)");
}

TEST(Config, UnknownKeysAreReportedWithSuggestions) {
  Config cfg = Config::from_json(json::parse(R"({"lattice": {"shap": [4, 4]}, "seed": 1})"));
  cfg.get<int64_t>("seed", 0);
  cfg.child("lattice").get<std::vector<int64_t>>("shape", {8, 8});
  EXPECT_EQ(config_error([&] { cfg.check_unused(); }),
            "unknown config key 'lattice.shap' (did you mean 'lattice.shape'?)");

  Config two = Config::from_json(json::parse(R"({"lattic": {"shape": [4]}, "zzzz": 1, "n_config": 5})"));
  two.child("lattice").get<std::vector<int64_t>>("shape", {8});
  two.get<int64_t>("n_configs", 10);
  const std::string msg = config_error([&] { two.check_unused(); });
  EXPECT_CONTAINS(msg, "unknown config key 'lattic' (did you mean 'lattice'?)");
  EXPECT_CONTAINS(msg, "unknown config key 'n_config' (did you mean 'n_configs'?)");
  EXPECT_CONTAINS(msg, "); unknown config key 'zzzz'");  // several joined by "; "; nothing close: no suggestion
  EXPECT_EQ(msg.find("zzzz' (did"), std::string::npos) << msg;
}

TEST(Config, ChildAndChildrenRecordUsage) {
  Config cfg = Config::from_json(json::parse(R"({
    "lattice": {"shape": [4, 4], "spacing": 1.0},
    "actions": [{"name": "wilson", "beta": 6.0}, {"name": "dbw2", "bta": 0.7}]})"));
  Config lattice = cfg.child("lattice");
  EXPECT_EQ(lattice.path(), "lattice");
  EXPECT_EQ(lattice.key_path("shape"), "lattice.shape");
  lattice.require<std::vector<int64_t>>("shape");
  for (Config a : cfg.children("actions")) {
    a.require<std::string>("name");
    a.get<double>("beta", 1.0);
  }
  // Unread keys are found through the views, and a child view checks only its own subtree.
  EXPECT_EQ(config_error([&] { lattice.check_unused(); }), "unknown config key 'lattice.spacing'");
  const std::string msg = config_error([&] { cfg.check_unused(); });
  EXPECT_CONTAINS(msg, "unknown config key 'lattice.spacing'");
  EXPECT_CONTAINS(msg, "unknown config key 'actions[1].bta' (did you mean 'actions[1].beta'?)");
  // Once everything is read the check passes; the default for actions[1].beta was recorded.
  lattice.get<double>("spacing", 1.0);
  cfg.raw("actions[1].bta");
  EXPECT_NO_THROW(cfg.check_unused());
  EXPECT_EQ(cfg.resolved()["actions"][1]["beta"], json(1.0));
}

TEST(Config, RawMarksSubtreeUsedAndHasDoesNotThrow) {
  Config cfg = Config::from_json(json::parse(R"({"model": {"layers": [{"w": 1}], "x": {"y": 2}}, "n": 3})"));
  EXPECT_TRUE(cfg.has("model.x.y"));
  EXPECT_TRUE(cfg.has("model.layers[0].w"));
  EXPECT_FALSE(cfg.has("model.layers[3].w"));
  EXPECT_FALSE(cfg.has("n.x"));  // path through a number: simply absent
  EXPECT_FALSE(cfg.has("missing"));
  EXPECT_EQ(cfg.raw("model"), json::parse(R"({"layers": [{"w": 1}], "x": {"y": 2}})"));
  EXPECT_TRUE(cfg.raw("nothing").is_null());
  EXPECT_EQ(config_error([&] { cfg.check_unused(); }), "unknown config key 'n'");
  cfg.require<int64_t>("n");
  EXPECT_NO_THROW(cfg.check_unused());
}

TEST(Config, ChildAndChildrenRejectWrongShapes) {
  Config cfg = Config::from_json(json::parse(R"({"lattice": [4], "actions": {"a": 1}, "flows": [{}, 3]})"));
  EXPECT_EQ(config_error([&] { cfg.child("lattice"); }), "config key 'lattice': expected an object, got list [4]");
  EXPECT_EQ(config_error([&] { cfg.children("actions"); }),
            "config key 'actions': expected a list of objects, got object {\"a\":1}");
  EXPECT_EQ(config_error([&] { cfg.children("flows"); }), "config key 'flows[1]': expected an object, got number 3");
  EXPECT_CONTAINS(config_error([&] { cfg.get<int64_t>("a..b", 0); }), "invalid config key 'a..b'");
}

TEST(Config, ResolvedContainsDefaults) {
  Config cfg = Config::from_json(json::parse(R"({"lattice": {"shape": [4, 4]}, "seed": 7})"));
  EXPECT_EQ(cfg.get<int64_t>("seed", 1), 7);
  Config lattice = cfg.child("lattice");
  EXPECT_EQ(lattice.get<int64_t>("dims", 2), 2);
  EXPECT_EQ(cfg.child("flow").get<std::string>("kind", "affine"), "affine");
  EXPECT_EQ(cfg.get<std::vector<double>>("mcmc.betas", {5.5, 6.0}), (std::vector<double>{5.5, 6.0}));
  EXPECT_TRUE(cfg.children("actions").empty());
  EXPECT_FALSE(cfg.has("never.read"));
  EXPECT_EQ(cfg.resolved(), json::parse(R"({
    "lattice": {"shape": [4, 4], "dims": 2}, "seed": 7, "flow": {"kind": "affine"},
    "mcmc": {"betas": [5.5, 6.0]}, "actions": []})"));
  EXPECT_EQ(config_error([&] { cfg.check_unused(); }), "unknown config key 'lattice.shape'");
}

TEST_F(ConfigFile, BaseIsMergedUnderTheFileAsAMergePatch) {
  fs::create_directories(dir_ / "configs" / "common");
  write("configs/common/root.json", R"({"seed": 1, "data": {"files": ["a.h5", "b.h5"], "val_fraction": 0.1},
    "training": {"steps": 6000, "lr": 3e-4, "schedule": "plateau"}, "note": "root"})");
  write("configs/stage1.json", R"({"base": "common/root.json",  // relative to this file
    "loss": {"w_derivative": 1000}})");
  const std::string stage2 = write("configs/stage2.json", R"({"base": "stage1.json",
    "data": {"files": ["c.h5"]}, "training": {"steps": 1500, "schedule": null}, "loss": {"w_derivative": 10},
    "note": null})");
  Config cfg = Config::load(stage2, {"training.lr=3e-5"});
  EXPECT_EQ(cfg.source(), stage2);
  EXPECT_EQ(cfg.resolved(), json::parse(R"({"seed": 1, "data": {"files": ["c.h5"], "val_fraction": 0.1},
    "training": {"steps": 1500, "lr": 3e-5}, "loss": {"w_derivative": 10}})"));
  // Unknown keys of a base are reported like the file's own.
  write("configs/typo.json", R"({"base": "stage1.json", "trianing": {}})");
  Config typo = Config::load((dir_ / "configs" / "typo.json").string());
  for (const char* key : {"seed", "data", "training", "loss", "note"}) typo.raw(key);
  EXPECT_CONTAINS(config_error([&] { typo.check_unused(); }), "unknown config key 'trianing'");
}

TEST_F(ConfigFile, BadBasesAreErrorsNamingTheFile) {
  const std::string missing = write("missing.json", R"({"base": "nowhere.json"})");
  EXPECT_CONTAINS(
      config_error([&] { Config::load(missing); }),
      "config key 'base' in '" + missing + "': cannot read config file '" + (dir_ / "nowhere.json").string());
  const std::string number = write("number.json", R"({"base": 3})");
  EXPECT_EQ(config_error([&] { Config::load(number); }),
            "config key 'base' in '" + number + "': expected the path of a config file, got number 3");
  write("list.json", "[1]");
  const std::string to_list = write("to_list.json", R"({"base": "list.json"})");
  EXPECT_CONTAINS(config_error([&] { Config::load(to_list); }), "the top level of");
  write("broken.json", "{\"a\": }");
  const std::string to_broken = write("to_broken.json", R"({"base": "broken.json"})");
  EXPECT_CONTAINS(config_error([&] { Config::load(to_broken); }),
                  "config key 'base' in '" + to_broken + "': malformed JSON in config file");
  const std::string a = write("a.json", R"({"base": "b.json", "x": 1})");
  write("b.json", R"({"base": "a.json", "y": 2})");
  EXPECT_CONTAINS(config_error([&] { Config::load(a); }), "the bases form a cycle");
  const std::string self = write("self.json", R"({"base": "self.json"})");
  EXPECT_CONTAINS(config_error([&] { Config::load(self); }), "the bases form a cycle");
}

TEST(Config, OverridesAreJsonTypedWithPlainStringFallback) {
  Config cfg = Config::from_json(
      json::parse(
          R"({"lattice": {"shape": [4, 4]}, "beta": 5.0, "cold": false, "actions": [{"beta": 1}, {"beta": 2}]})"),
      {"beta=6.25", "cold=true", "lattice.shape=[8,8]", "flow.coupling.hidden=[16, 32]", "device=cuda", "label=\"42\"",
       "n=null", "actions[1].beta=7.5", "lattice.shape[0]=16", "  seed =3", "expr=a=b"});
  const json& r = cfg.resolved();
  EXPECT_EQ(r["beta"], json(6.25));
  EXPECT_EQ(r["cold"], json(true));
  EXPECT_EQ(r["lattice"]["shape"], json::parse("[16, 8]"));
  EXPECT_EQ(r["flow"], json::parse(R"({"coupling": {"hidden": [16, 32]}})"));
  EXPECT_EQ(r["device"], json("cuda"));
  EXPECT_EQ(r["label"], json("42"));
  EXPECT_TRUE(r.contains("n") && r["n"].is_null());
  EXPECT_EQ(r["actions"], json::parse(R"([{"beta": 1}, {"beta": 7.5}])"));
  EXPECT_EQ(r["seed"], json(3));
  EXPECT_EQ(r["expr"], json("a=b"));
  EXPECT_EQ(cfg.require<std::vector<int64_t>>("flow.coupling.hidden"), (std::vector<int64_t>{16, 32}));
}

TEST_F(ConfigFile, OverrideErrorsNameTheOverride) {
  const std::string path = write("run.json", R"({"lattice": {"shape": [4, 4]}, "beta": 5.0, "actions": [{}]})");
  EXPECT_EQ(config_error([&] { Config::load(path, {"lattice.shape.x=3"}); }),
            "invalid override 'lattice.shape.x=3': config key 'lattice.shape': expected an object, got list [4,4]");
  EXPECT_EQ(config_error([&] { Config::load(path, {"beta.x=1"}); }),
            "invalid override 'beta.x=1': config key 'beta': expected an object, got number 5.0");
  EXPECT_CONTAINS(config_error([&] { Config::load(path, {"actions[3].beta=1"}); }),
                  "config key 'actions[3]': index out of range (the list has 1 elements)");
  EXPECT_CONTAINS(config_error([&] { Config::load(path, {"beta[0]=1"}); }),
                  "config key 'beta': expected a list, got number 5.0");
  EXPECT_CONTAINS(config_error([&] { Config::load(path, {"new[0]=1"}); }), "config key 'new': expected a list");
  EXPECT_CONTAINS(config_error([&] { Config::load(path, {"beta"}); }),
                  "invalid override 'beta': expected key.path=value");
  EXPECT_CONTAINS(config_error([&] { Config::load(path, {"=3"}); }), "invalid config key ''");
  // An override of an unknown key is reported like one in the file.
  Config cfg = Config::load(path, {"lattice.shap=[2,2]"});
  cfg.child("lattice").require<std::vector<int64_t>>("shape");
  cfg.raw("beta");
  cfg.raw("actions");
  EXPECT_EQ(config_error([&] { cfg.check_unused(); }),
            "unknown config key 'lattice.shap' (did you mean 'lattice.shape'?)");
}

TEST(ConfigCheck, NumberRules) {
  Config cfg = Config::from_json(json::parse(R"({"n": -3, "eps": 0, "p": 1.5, "steps": [1, 0, 2]})"));
  EXPECT_EQ(config_error([&] { cfg.get<int64_t>("n", 1, Check::positive()); }),
            "config key 'n': expected a positive number, got number -3");
  EXPECT_EQ(cfg.get<double>("eps", 1.0, Check::non_negative()), 0.0);
  EXPECT_CONTAINS(config_error([&] { cfg.get<double>("eps", 1.0, Check::positive()); }), "expected a positive number");
  EXPECT_EQ(config_error([&] { cfg.require<double>("p", Check::in_range(0, 1)); }),
            "config key 'p': expected a number in [0, 1], got number 1.5");
  EXPECT_EQ(config_error([&] { cfg.require<std::vector<int64_t>>("steps", Check::positive()); }),
            "config key 'steps[1]': expected a positive number, got number 0");
  EXPECT_EQ(cfg.get<int64_t>("absent", 100, Check::positive()), 100);
  EXPECT_CONTAINS(config_error([&] { cfg.get<int64_t>("absent2", -1, Check::positive()); }), "'absent2'");
  const Check both = Check::non_negative() & Check::in_range(-5, -1);
  EXPECT_CONTAINS(config_error([&] { cfg.require<double>("eps", both); }), "expected a number in [-5, -1]");
  EXPECT_NO_THROW(Check::positive()(json(2), "x"));
  EXPECT_EQ(config_error([&] { Check::non_negative()(json(-1), "x.y"); }),
            "config key 'x.y': expected a non-negative number, got number -1");
}

TEST(ConfigCheck, OneOf) {
  Config cfg = Config::from_json(json::parse(R"({"action": {"name": "wilsn"}, "other": "zzz"})"));
  const Check names = Check::one_of({"wilson", "symanzik", "iwasaki", "dbw2", "rectangle"});
  EXPECT_EQ(config_error([&] { cfg.child("action").require<std::string>("name", names); }),
            "config key 'action.name': expected one of wilson, symanzik, iwasaki, dbw2, rectangle, got \"wilsn\" "
            "(did you mean 'wilson'?)");
  EXPECT_EQ(config_error([&] { cfg.require<std::string>("other", names); }),
            "config key 'other': expected one of wilson, symanzik, iwasaki, dbw2, rectangle, got \"zzz\"");
  EXPECT_EQ(cfg.get<std::string>("method", "dbw2", names), "dbw2");
}

TEST(ConfigCheck, Extents) {
  Config cfg = Config::from_json(
      json::parse(R"({"a": [4, 5], "b": [4, 0, 2], "c": [4, 4, 4], "d": [], "e": [8, 8, 8, 16], "f": [2.5]})"));
  EXPECT_EQ(config_error([&] { cfg.require<std::vector<int64_t>>("a", Check::extents(0, true)); }),
            "config key 'a': extent 5 in direction 1 must be even");
  EXPECT_EQ(cfg.require<std::vector<int64_t>>("a", Check::extents(2)), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(config_error([&] { cfg.require<std::vector<int64_t>>("b", Check::extents()); }),
            "config key 'b': extent 0 in direction 1 must be positive");
  EXPECT_EQ(config_error([&] { cfg.require<std::vector<int64_t>>("c", Check::extents(4)); }),
            "config key 'c': expected 4 extents (one per direction), got 3");
  EXPECT_CONTAINS(config_error([&] { cfg.require<std::vector<int64_t>>("d", Check::extents()); }),
                  "config key 'd': expected a non-empty list of positive integers, got list []");
  EXPECT_EQ(cfg.require<std::vector<int64_t>>("e", Check::extents(4, true)), (std::vector<int64_t>{8, 8, 8, 16}));
  EXPECT_EQ(config_error([&] { cfg.require<std::vector<int64_t>>("f", Check::extents()); }),
            "config key 'f[0]': expected an integer, got number 2.5");
}

}  // namespace
}  // namespace blockspin::support
