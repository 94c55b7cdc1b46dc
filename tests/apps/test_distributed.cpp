// Distributed runs (run/distributed.h): 2 processes on localhost with Gloo, launched with the torchrun environment
// (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), against one process — training gives the same parameters, fp-data the
// same dataset, generate the chains of per-rank seeds; a killed rank stops the other with a message naming it, and
// --resume completes the run.
#include "apps/run_blockspin.h"
#include "apps/run_files.h"
#include "io/h5io.h"
#include "run/distributed.h"

#include <gtest/gtest.h>
#include <H5Cpp.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

namespace fs = std::filesystem;
using nlohmann::json;
using namespace blockspin::io;
using blockspin::apps::testing::datasets;
using blockspin::apps::testing::read_json;
using blockspin::apps::testing::run_blockspin;
using blockspin::apps::testing::RunResult;

namespace {

// A TCP port that was free a moment ago (the kernel's choice for port 0).
int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

// Runs `args` as `world` ranks (one process each, in parallel) with the torchrun environment; `env` is added to every
// rank's environment. Returns each rank's result.
std::vector<RunResult> run_ranks(const std::string& args, int world, const std::string& env = "") {
  const int port = free_port();
  std::vector<RunResult> results(world);
  std::vector<std::thread> ranks;
  for (int r = 0; r < world; ++r)
    ranks.emplace_back([&, r] {
      const std::string e = "RANK=" + std::to_string(r) + " LOCAL_RANK=" + std::to_string(r) +
                            " WORLD_SIZE=" + std::to_string(world) +
                            " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " " + env;
      results[r] = run_blockspin(args + " --distributed-timeout 60", e);
    });
  for (auto& t : ranks) t.join();
  return results;
}

std::string outputs(const std::vector<RunResult>& rs) {
  std::string all;
  for (size_t r = 0; r < rs.size(); ++r) all += "--- rank " + std::to_string(r) + ":\n" + rs[r].output;
  return all;
}

// Bitwise equal, NaN where the other is NaN (e.g. rho of Monte Carlo configurations).
bool same(const torch::Tensor& a, const torch::Tensor& b) {
  if (!a.is_floating_point()) return torch::equal(a, b);
  return torch::equal(a.isnan(), b.isnan()) && torch::equal(a.nan_to_num(0), b.nan_to_num(0));
}

std::map<std::string, torch::Tensor> model_parameters(const fs::path& run) {
  return blockspin::apps::testing::checkpoint_parameters(run / "model" / "checkpoint.h5", "training_checkpoint");
}

// One tiny fp-data set (SU(2), coarse 2^4, 8 configurations in 4 batches), made by 1 and by 2 ranks.
class DistributedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = fs::temp_directory_path() / ("blockspin_distributed_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "fp.json") << R"({
      "lattice": {"shape": [2, 2, 2, 2]}, "group": "SU2",
      "generate": {"betas": [2.5, 4.0], "n_configs": 4, "n_therm": 5, "save_every": 1,
                   "algorithm": {"name": "heatbath", "or_steps": 1}},
      "instantons": {"enabled": false}, "minimiser": {"grad_tol": 1e-6, "max_iterations": 500},
      "batch_size": 2, "seed": 3})";
    std::ofstream(dir / "train.json") << R"({"task": "fp_action", "seed": 2,
      "data": {"files": [")" + (dir / "fp1" / "fp_data.h5").string() +
                                             R"("], "val_fraction": 0.2, "test_fraction": 0.2},
      "model": {"spec": {"network": {"layers": [{"type": "plaq"}, {"type": "lconvbilin", "out": 3, "kernel_size": 2},
                {"type": "trace"}, {"type": "linear", "out": 1}]}, "dims": 4}},
      "training": {"steps": 8, "batch_size": 4, "log_every": 2, "checkpoint_every": 4, "lr": 0.01}})";
    std::ofstream(dir / "gen.json") << R"({
      "lattice": {"shape": [4, 4, 4, 4]}, "group": "SU3", "action": {"name": "wilson", "beta": 6.0},
      "algorithm": {"name": "hmc", "trajectory_length": 0.5, "steps": 5}, "n_chains": 2, "n_therm": 2, "n_configs": 4,
      "save_every": 1, "seed": 1, "start": "hot"})";
    const auto one =
        run_blockspin("fp-data --config " + (dir / "fp.json").string() + " --out " + (dir / "fp1").string());
    ASSERT_EQ(one.status, 0) << one.output;
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
  static std::string cmd(const std::string& sub, const std::string& config, const std::string& out) {
    return sub + " --config " + (dir / config).string() + " --out " + (dir / out).string();
  }
  // `sub` on `config` as 2 ranks (output DIR/two) and as one process with `one_process_args` (DIR/one): both succeed.
  static ::testing::AssertionResult two_ranks_and_one(const std::string& sub, const std::string& config,
                                                      const std::string& two, const std::string& one,
                                                      const std::string& one_process_args) {
    const auto ranks = run_ranks(cmd(sub, config, two), 2);
    if (ranks[0].status != 0 || ranks[1].status != 0) return ::testing::AssertionFailure() << outputs(ranks);
    const auto single = run_blockspin(cmd(sub, config, one) + " " + one_process_args);
    if (single.status != 0) return ::testing::AssertionFailure() << single.output;
    return ::testing::AssertionSuccess();
  }
  static fs::path dir;
};
fs::path DistributedTest::dir;

}  // namespace

TEST(Distributed, ShardsAndSeeds) {
  // One process: rank 0 of 1, every collective is the identity.
  const auto& comm = blockspin::run::communicator();
  EXPECT_FALSE(comm.distributed());
  EXPECT_EQ(comm.shard(7), (std::pair<int64_t, int64_t>(0, 7)));
  std::vector<torch::Tensor> t{torch::tensor({1.0, 2.0}), torch::tensor({c10::complex<double>(1, 2)})};
  comm.allreduce_sum(t, "test");
  EXPECT_EQ(t[0][1].item<double>(), 2.0);
  EXPECT_EQ(comm.describe()["world_size"], 1);
  EXPECT_EQ(blockspin::run::rank_seed(5, 0), 5u);
  EXPECT_NE(blockspin::run::rank_seed(5, 1), blockspin::run::rank_seed(5, 2));
  EXPECT_LT(blockspin::run::rank_seed(~0ULL, 3), 1ULL << 63);  // a valid (non-negative int64) config seed
}

TEST_F(DistributedTest, FpDataTwoRanksWriteTheSameDatasetAsOne) {
  const auto two = run_ranks(cmd("fp-data", "fp.json", "fp2"), 2);
  ASSERT_EQ(two[0].status, 0) << outputs(two);
  ASSERT_EQ(two[1].status, 0) << outputs(two);
  EXPECT_FALSE(fs::exists(dir / "fp2" / "chunks"));
  const auto a = datasets(dir / "fp1" / "fp_data.h5", "fp_data");
  const auto b = datasets(dir / "fp2" / "fp_data.h5", "fp_data");
  ASSERT_GE(a.size(), 10u);  // coarse links and metadata, action, derivatives, kernel, convergence
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(same(t, b.at(name))) << name;
  const auto summary = read_json(dir / "fp2" / "summary.json");
  EXPECT_EQ(summary["distributed"]["world_size"], 2);
  EXPECT_EQ(summary["distributed"]["backend"], "gloo");
  EXPECT_EQ(summary["distributed"]["hosts"].size(), 2u);
  EXPECT_EQ(read_json(dir / "fp1" / "summary.json")["distributed"]["world_size"], 1);
}

TEST_F(DistributedTest, TrainingTwoRanksMatchesOneProcessOnTheGlobalBatch) {
  const auto two = run_ranks(cmd("train", "train.json", "t2"), 2);
  ASSERT_EQ(two[0].status, 0) << outputs(two);
  ASSERT_EQ(two[1].status, 0) << outputs(two);
  // One process accumulating the same two shares takes bitwise the same steps (the sum of two gradients is
  // commutative) ...
  const auto acc = run_blockspin(cmd("train", "train.json", "t1acc") + " --set training.accumulate=2");
  ASSERT_EQ(acc.status, 0) << acc.output;
  const auto pb = model_parameters(dir / "t2");
  ASSERT_FALSE(pb.empty());
  for (const auto& [name, a] : model_parameters(dir / "t1acc")) EXPECT_TRUE(torch::equal(a, pb.at(name))) << name;
  // ... and one process on the whole batch the same steps up to rounding: its losses agree to 1e-12; Adam divides
  // each gradient component by its own RMS, so a component that nearly cancels over the batch carries the
  // summation-order rounding into the parameters at ~lr x its relative error (measured: <= 4e-8 after 8 steps).
  const auto one = run_blockspin(cmd("train", "train.json", "t1"));
  ASSERT_EQ(one.status, 0) << one.output;
  for (const auto& [name, a] : model_parameters(dir / "t1")) {
    const double scale = std::max(a.abs().max().item<double>(), 1e-300);
    EXPECT_LE((a - pb.at(name)).abs().max().item<double>() / scale, 1e-6) << name;
  }
  const auto m = read_json(dir / "t2" / "metrics.json"), m1 = read_json(dir / "t1" / "metrics.json");
  EXPECT_EQ(m["distributed"]["world_size"], 2);
  EXPECT_EQ(m["distributed"]["backend"], "gloo");
  EXPECT_GT(m["distributed"]["bytes_sent_by_rank_0"].get<int64_t>(), 0);
  ASSERT_EQ(m["curve"]["loss"].size(), m1["curve"]["loss"].size());
  for (size_t k = 0; k < m1["curve"]["loss"].size(); ++k)
    EXPECT_NEAR(m["curve"]["loss"][k].get<double>(), m1["curve"]["loss"][k].get<double>(),
                1e-12 * std::abs(m1["curve"]["loss"][k].get<double>()));
  EXPECT_EQ(m["test"], read_json(dir / "t1acc" / "metrics.json")["test"]);
}

TEST_F(DistributedTest, KilledRankStopsTheOtherWithItsNameAndResumeCompletes) {
  const auto full = run_ranks(cmd("train", "train.json", "k_full"), 2);
  ASSERT_EQ(full[0].status, 0) << outputs(full);
  const auto a = model_parameters(dir / "k_full");
  // Rank 1 dies abruptly after step 4 (a checkpoint step); rank 0 must stop with exit 6, naming rank 1.
  const std::string crash = "BLOCKSPIN_TEST_CRASH_AFTER=4 BLOCKSPIN_TEST_CRASH_RANK=1";
  const auto crashed = run_ranks(cmd("train", "train.json", "k"), 2, crash);
  EXPECT_EQ(crashed[1].status, 86) << outputs(crashed);
  EXPECT_EQ(crashed[0].status, 6) << outputs(crashed);
  EXPECT_NE(crashed[0].output.find("rank 1 stopped responding"), std::string::npos) << crashed[0].output;
  ASSERT_TRUE(fs::exists(dir / "k" / "model" / "checkpoint.h5"));
  const auto resumed = run_ranks(cmd("train", "train.json", "k") + " --resume", 2);
  ASSERT_EQ(resumed[0].status, 0) << outputs(resumed);
  ASSERT_EQ(resumed[1].status, 0) << outputs(resumed);
  for (const auto& [name, b] : model_parameters(dir / "k")) EXPECT_TRUE(torch::equal(a.at(name), b)) << name;
  // Another world size may resume: one process accumulating the two shares continues bitwise.
  const auto again = run_ranks(cmd("train", "train.json", "k1"), 2, crash);
  EXPECT_EQ(again[0].status, 6) << outputs(again);
  const auto single = run_blockspin(cmd("train", "train.json", "k1") + " --resume --set training.accumulate=2");
  ASSERT_EQ(single.status, 0) << single.output;
  EXPECT_NE(single.output.find("written by a run of 2 process(es)"), std::string::npos) << single.output;
  for (const auto& [name, b] : model_parameters(dir / "k1")) EXPECT_TRUE(torch::equal(a.at(name), b)) << name;
}

TEST_F(DistributedTest, GenerateTwoRanksRunTheChainsOfPerRankSeeds) {
  const auto two = run_ranks(cmd("generate", "gen.json", "g2"), 2);
  ASSERT_EQ(two[0].status, 0) << outputs(two);
  ASSERT_EQ(two[1].status, 0) << outputs(two);
  // Rank r's chain is the chain of a one-process run with seed rank_seed(1, r).
  const auto e2 = datasets(dir / "g2" / "ensemble.h5", "ensemble");
  for (int r = 0; r < 2; ++r) {
    const std::string out = "g1_" + std::to_string(r);
    const auto one =
        run_blockspin(cmd("generate", "gen.json", out) + " --set n_chains=1 --set n_configs=2 --set seed=" +
                      std::to_string(blockspin::run::rank_seed(1, r)));
    ASSERT_EQ(one.status, 0) << one.output;
    const auto e1 = datasets(dir / out / "ensemble.h5", "ensemble");
    const auto mine = e2.at("chain") == r;
    EXPECT_TRUE(torch::equal(e2.at("links").index({mine}), e1.at("links"))) << "rank " << r;
    EXPECT_TRUE(torch::equal(e2.at("plaquette").index({mine}), e1.at("plaquette"))) << "rank " << r;
  }
  // A killed rank, then --resume with the same world size: the same ensemble; with another: refused (input error).
  const auto crashed =
      run_ranks(cmd("generate", "gen.json", "gk"), 2, "BLOCKSPIN_TEST_CRASH_AFTER=3 BLOCKSPIN_TEST_CRASH_RANK=1");
  EXPECT_EQ(crashed[1].status, 86) << outputs(crashed);
  EXPECT_EQ(crashed[0].status, 6) << outputs(crashed);
  const auto other = run_blockspin(cmd("generate", "gen.json", "gk") + " --resume");
  EXPECT_EQ(other.status, 4) << other.output;
  EXPECT_NE(other.output.find("same number"), std::string::npos) << other.output;
  const auto resumed = run_ranks(cmd("generate", "gen.json", "gk") + " --resume", 2);
  ASSERT_EQ(resumed[0].status, 0) << outputs(resumed);
  const auto ek = datasets(dir / "gk" / "ensemble.h5", "ensemble");
  EXPECT_TRUE(torch::equal(ek.at("links"), e2.at("links")));
}

TEST_F(DistributedTest, TorchrunLaunchesEveryRankThroughItsAgentStore) {
  // Debian's torchrun 1.13 (python3-torch); on Python 3.11 it needs --redirects/--tee/--log_dir to start.
  ASSERT_TRUE(fs::exists("/usr/bin/torchrun")) << "python3-torch provides torchrun (make deps installs it)";
  const auto r = blockspin::apps::testing::run_command(
      "OMP_NUM_THREADS=1 /usr/bin/torchrun --no_python --nproc_per_node 2 --master_port " +
      std::to_string(free_port()) + " --redirects 2 --tee 2 --log_dir " + (dir / "torchrun_logs").string() + " " +
      BLOCKSPIN_BINARY + " " + cmd("fp-data", "fp.json", "fp_torchrun"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto a = datasets(dir / "fp1" / "fp_data.h5", "fp_data");
  const auto b = datasets(dir / "fp_torchrun" / "fp_data.h5", "fp_data");
  for (const auto& [name, t] : a) EXPECT_TRUE(same(t, b.at(name))) << name;
  EXPECT_EQ(read_json(dir / "fp_torchrun" / "summary.json")["distributed"]["world_size"], 2);
}

TEST_F(DistributedTest, SubcommandsThatDoNotShareWorkRunOnRankZeroAlone) {
  const auto rs = run_ranks(std::string("observe --config ") + BLOCKSPIN_SOURCE_DIR + "/configs/default.json --out " +
                                (dir / "observe").string() + " --set lattice.shape=[4,4,4,4]",
                            2);
  EXPECT_EQ(rs[0].status, 0) << outputs(rs);
  EXPECT_EQ(rs[1].status, 0) << outputs(rs);
  EXPECT_NE(rs[1].output.find("rank 1 has nothing to do"), std::string::npos) << rs[1].output;
  EXPECT_TRUE(fs::exists(dir / "observe" / "observables.json"));
}

TEST_F(DistributedTest, SampleRanksDrawTheProposalsOfPerRankSeeds) {
  std::ofstream(dir / "flow.json") << R"({
    "seed": 3, "action": {"kappa": 0.2, "lambda": 0.01},
    "flow": {"coarse_shape": [2, 2], "levels": 1, "features": 3, "time_kernels": 2, "feature_bond": 2,
             "time_bond": 2, "cnf_steps": 2},
    "training": {"steps": 2, "batch_size": 8, "checkpoint_every": 2, "log_every": 2,
                 "langevin": {"therm": 100, "steps": 10}, "hmc": {"therm": 10},
                 "bank": {"size": 40, "chains": 8, "therm": 10}},
    "eval": {"n": 32, "batch_size": 16, "coarse_chains": 8, "coarse_therm": 10, "coarse_stride": 2, "n_hmc": 0,
             "seed": 11}})";
  const auto trained = run_blockspin(cmd("train-flow", "flow.json", "flow"));
  ASSERT_EQ(trained.status, 0) << trained.output;
  const std::string sample = "sample --model " + (dir / "flow").string() + " --out ";
  const auto two = run_ranks(sample + (dir / "s2").string() + " --n 64", 2);
  ASSERT_EQ(two[0].status, 0) << outputs(two);
  ASSERT_EQ(two[1].status, 0) << outputs(two);
  const auto s2 = datasets(dir / "s2" / "samples.h5", "flow_samples");
  ASSERT_EQ(s2.at("log_q").size(0), 64);
  // Rank r's 32 proposals are those of one process with eval.seed = rank_seed(11, r).
  for (int r = 0; r < 2; ++r) {
    const std::string out = "s1_" + std::to_string(r);
    const auto one = run_blockspin(sample + (dir / out).string() +
                                   " --n 32 --set eval.seed=" + std::to_string(blockspin::run::rank_seed(11, r)));
    ASSERT_EQ(one.status, 0) << one.output;
    const auto s1 = datasets(dir / out / "samples.h5", "flow_samples");
    for (const char* name : {"log_q", "log_p", "fields"})
      EXPECT_TRUE(torch::equal(s2.at(name).narrow(0, 32 * r, 32), s1.at(name))) << name << " rank " << r;
  }
  EXPECT_EQ(read_json(dir / "s2" / "metrics.json")["distributed"]["world_size"], 2);
}

TEST_F(DistributedTest, WilsonLoopTrainingTwoRanksEqualsOneProcessAccumulatingTwoShares) {
  std::ofstream(dir / "wl.json") << R"({
    "task": "wilson_loops", "group": "SU2", "seed": 3,
    "data": {"betas": [1.0, 4.0], "train_shape": [4, 4], "n_train": 6, "n_val": 3, "n_test": 2,
             "test_shapes": [[8, 4]], "n_therm": 3},
    "model": {"layers": [{"type": "plaq"}, {"type": "lconvbilin", "out": 2, "kernel_size": 2},
                         {"type": "trace"}, {"type": "linear", "out": 3}]},
    "baseline": {"hidden": [4]},
    "training": {"steps": 6, "batch_size": 4, "lr": 0.01, "lr_final": 0.001, "checkpoint_every": 2, "log_every": 2}})";
  ASSERT_TRUE(two_ranks_and_one("train", "wl.json", "wl2", "wl1", "--set training.accumulate=2"));
  for (const char* model : {"lcnn", "baseline"}) {
    const auto a = datasets(dir / "wl1" / model / "checkpoint.h5", "training_checkpoint", "parameters");
    const auto b = datasets(dir / "wl2" / model / "checkpoint.h5", "training_checkpoint", "parameters");
    ASSERT_FALSE(a.empty()) << model;
    for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b.at(name))) << model << " " << name;
  }
  // The validation losses (shared over the ranks in the 2-rank run) agree.
  const auto m2 = read_json(dir / "wl2" / "metrics.json"), m1 = read_json(dir / "wl1" / "metrics.json");
  for (size_t k = 0; k < m1["lcnn"]["curve"]["val_loss"].size(); ++k)
    EXPECT_NEAR(m2["lcnn"]["curve"]["val_loss"][k].get<double>(), m1["lcnn"]["curve"]["val_loss"][k].get<double>(),
                1e-12 * m1["lcnn"]["curve"]["val_loss"][k].get<double>());
}

TEST_F(DistributedTest, FlowTrainingTwoRanksEqualsOneProcessWithTwoShardsAndResumes) {
  std::ofstream(dir / "flow_dp.json") << R"({
    "seed": 5, "action": {"kappa": 0.2, "lambda": 0.01},
    "flow": {"coarse_shape": [2, 2], "levels": 1, "features": 3, "time_kernels": 2, "feature_bond": 2,
             "time_bond": 2, "cnf_steps": 2},
    "training": {"steps": 4, "batch_size": 9, "checkpoint_every": 2, "log_every": 2, "lr": 0.05,
                 "ode_control": {"tolerance": 1e-5, "check_every": 1, "max_steps": 8},
                 "langevin": {"therm": 100, "steps": 10}, "bank": {"size": 40, "chains": 8, "therm": 10}},
    "eval": {"n": 32, "batch_size": 16, "coarse_chains": 8, "coarse_therm": 10, "coarse_stride": 2, "n_hmc": 0}})";
  ASSERT_TRUE(two_ranks_and_one("train-flow", "flow_dp.json", "f2", "f1", "--set training.shards=2"));
  // The global batch (9 rows in shards of 5 and 4) trains alike: metrics and parameters to rounding.
  auto lines = [](const fs::path& p) {
    std::vector<json> v;
    std::ifstream in(p);
    for (std::string l; std::getline(in, l);) v.push_back(json::parse(l));
    return v;
  };
  const auto l2 = lines(dir / "f2" / "metrics.jsonl"), l1 = lines(dir / "f1" / "metrics.jsonl");
  ASSERT_EQ(l2.size(), 4u);
  ASSERT_EQ(l1.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    for (const char* k : {"loss", "ess_per_n", "kappa", "bank_ess"})
      EXPECT_NEAR(l2[i][k].get<double>(), l1[i][k].get<double>(), 1e-12 * std::abs(l1[i][k].get<double>()))
          << k << " step " << i + 1;
    EXPECT_EQ(l2[i]["ode_steps"], l1[i]["ode_steps"]);
  }
  EXPECT_GT(l2.back()["ode_steps"].get<int>(), 2);  // the control refined on the errors of both ranks
  auto params = [](const fs::path& run) { return datasets(run / "checkpoint.h5", "flow_checkpoint", "parameters"); };
  const auto p2 = params(dir / "f2"), p1 = params(dir / "f1");
  ASSERT_FALSE(p2.empty());
  for (const auto& [name, b] : p1)
    EXPECT_LE((p2.at(name) - b).abs().max().item<double>(), 1e-12 * std::max(1.0, b.abs().max().item<double>()))
        << name;
  const auto m = read_json(dir / "f2" / "metrics.json");
  EXPECT_EQ(m["distributed"]["world_size"], 2);
  EXPECT_EQ(m["shards"], 2);
  EXPECT_GT(m["ess"].get<double>(), 0);

  // Rank 1 dies after the checkpoint at step 2; resumed with 2 ranks the run ends bitwise as the uninterrupted one.
  const auto crashed =
      run_ranks(cmd("train-flow", "flow_dp.json", "fk"), 2, "BLOCKSPIN_TEST_CRASH_AFTER=2 BLOCKSPIN_TEST_CRASH_RANK=1");
  EXPECT_EQ(crashed[0].status, 6) << outputs(crashed);
  EXPECT_NE(crashed[0].output.find("rank 1 stopped responding"), std::string::npos) << crashed[0].output;
  // One process cannot continue the two shards' streams unless told to hold both.
  const auto refused = run_blockspin(cmd("train-flow", "flow_dp.json", "fk") + " --resume");
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("training.shards"), std::string::npos) << refused.output;
  const auto resumed = run_ranks(cmd("train-flow", "flow_dp.json", "fk") + " --resume", 2);
  ASSERT_EQ(resumed[0].status, 0) << outputs(resumed);
  for (const auto& [name, b] : params(dir / "fk")) EXPECT_TRUE(torch::equal(p2.at(name), b)) << name;
  // Another world size continues the same streams when it holds the same shards: one process with both.
  const auto again = run_ranks(cmd("train-flow", "flow_dp.json", "fk1"), 2,
                               "BLOCKSPIN_TEST_CRASH_AFTER=2 BLOCKSPIN_TEST_CRASH_RANK=1");
  EXPECT_EQ(again[0].status, 6) << outputs(again);
  const auto single = run_blockspin(cmd("train-flow", "flow_dp.json", "fk1") + " --resume --set training.shards=2");
  ASSERT_EQ(single.status, 0) << single.output;
  for (const auto& [name, b] : params(dir / "fk1"))
    EXPECT_LE((p2.at(name) - b).abs().max().item<double>(), 1e-12 * std::max(1.0, b.abs().max().item<double>()))
        << name;
}
