// End-to-end tests of `blockspin fp-data` (tiny: SU(2), coarse 2^4 -> fine 4^4): datasets and attributes, D^FP
// against a fresh minimisation, bitwise resume after a crash, inputs from `generate` ensembles, bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/ensemble_file.h"
#include "io/h5io.h"
#include "lattice/fp_minimise.h"
#include "lattice/blocking.h"
#include "lattice/gauge_action.h"
#include "lattice/gauge_field.h"
#include "lattice/instanton.h"
#include "lattice/rng.h"
#include "lattice/su_n.h"
#include "run_blockspin.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using namespace blockspin::apps;
using namespace blockspin::io;
using blockspin::apps::testing::fresh_test_dir;
using blockspin::apps::testing::run_blockspin;

namespace {

class FpDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fresh_test_dir("blockspin_fpdata_");
    // Two Wilson heatbath configurations (β_wil = 2.5, 4.0) and one instanton; two batches of <= 2.
    std::ofstream(dir / "fp.json") << R"({
      "lattice": {"shape": [2, 2, 2, 2]}, "group": "SU2",
      "generate": {"betas": [2.5, 4.0], "n_configs": 1, "n_therm": 5, "save_every": 1,
                   "algorithm": {"name": "heatbath", "or_steps": 1}},
      "instantons": {"enabled": true, "rho": [0.8]},
      "minimiser": {"grad_tol": 1e-6, "max_iterations": 500},
      "batch_size": 2, "seed": 3})";
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string cmd(const std::string& out, const std::string& extra = "", const std::string& config = "fp.json") {
    return "fp-data --config " + (dir / config).string() + " --out " + (dir / out).string() + " " + extra;
  }
  fs::path dir;
};

std::string bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

L::ActionFunctional wilson() {
  return [](const torch::Tensor& U) { return L::GaugeAction::wilson(1.0)(U); };
}

}  // namespace

TEST_F(FpDataTest, WritesDatasetsShapesAndAttributes) {
  auto r = run_blockspin(cmd("out"));
  ASSERT_EQ(r.status, 0) << r.output;
  H5::H5File f = open_h5(dir / "out" / "fp_data.h5", "fp_data");
  using S = std::vector<int64_t>;
  EXPECT_EQ(dataset_shape(f, "coarse_links"), (S{3, 4, 2, 2, 2, 2, 2, 2}));
  EXPECT_EQ(dataset_shape(f, "derivatives"), (S{3, 4, 2, 2, 2, 2, 3}));
  for (const char* name : {"action", "fine_action", "kernel", "wilson_action", "beta_wil", "kind", "rho", "source",
                           "source_index", "grad_norm", "iterations", "converged"})
    EXPECT_EQ(dataset_shape(f, name), (S{3})) << name;
  auto beta = read_tensor(f, "beta_wil"), rho = read_tensor(f, "rho");
  EXPECT_DOUBLE_EQ(beta[0].item<double>(), 2.5);
  EXPECT_DOUBLE_EQ(beta[1].item<double>(), 4.0);
  EXPECT_TRUE(std::isnan(beta[2].item<double>()));
  EXPECT_TRUE(std::isnan(rho[0].item<double>()));
  EXPECT_DOUBLE_EQ(rho[2].item<double>(), 0.8);
  EXPECT_TRUE(torch::equal(read_tensor(f, "kind"), torch::tensor({0, 0, 1}, torch::kLong)));
  EXPECT_TRUE(torch::equal(read_tensor(f, "converged"), torch::ones({3}, torch::kLong)));
  EXPECT_TRUE((read_tensor(f, "grad_norm") <= 1e-6).all().item<bool>());
  auto V = read_tensor(f, "coarse_links");
  auto action = read_tensor(f, "action");
  EXPECT_LT((action - read_tensor(f, "fine_action") - read_tensor(f, "kernel")).abs().max().item<double>(), 1e-12);
  EXPECT_LT((read_tensor(f, "wilson_action") - L::GaugeAction::wilson(1.0)(V)).abs().max().item<double>(), 1e-12);
  L::InstantonOptions io;
  io.rho = 0.8;
  auto inst = L::bpst_instanton({2, 2, 2, 2}, 2, io, torch::TensorOptions().dtype(torch::kComplexDouble));
  EXPECT_TRUE(torch::equal(V.narrow(0, 2, 1), inst));
  EXPECT_EQ(read_string_attribute(f, "blockspin_format"), "fp_data");
  const auto config = nlohmann::json::parse(read_string_attribute(f, "config"));
  EXPECT_EQ(config["blocking"]["kappa"], 8.0);  // defaults are made explicit
  EXPECT_EQ(config["fine_action"]["name"], "wilson");
  EXPECT_TRUE(has_attribute(f, "normalisation"));

  auto s = nlohmann::json::parse(std::ifstream(dir / "out" / "summary.json"));
  EXPECT_EQ(s["n_configs"], 3);
  EXPECT_EQ(s["n_converged"], 3);
  ASSERT_EQ(s["per_beta"].size(), 2u);
  EXPECT_NEAR(s["per_beta"][1]["action_per_site"].get<double>(), action[1].item<double>() / 16.0, 1e-12);
  ASSERT_EQ(s["instantons"].size(), 1u);
  EXPECT_NEAR(s["instantons"][0]["continuum_action"].get<double>(), 2 * M_PI * M_PI, 1e-12);  // 4π²/N, N = 2
  EXPECT_GT(s["seconds_per_configuration"].get<double>(), 0.0);
  EXPECT_FALSE(fs::exists(dir / "out" / "chunks"));
  EXPECT_FALSE(fs::exists(dir / "out" / "coarse.h5"));
}

TEST_F(FpDataTest, DerivativesEqualFreshMinimisation) {
  ASSERT_EQ(run_blockspin(cmd("out")).status, 0);
  H5::H5File f = open_h5(dir / "out" / "fp_data.h5", "fp_data");
  auto V = read_tensor(f, "coarse_links");
  L::FpMinimiserOptions o;
  o.grad_tol = 1e-6;
  o.max_iterations = 500;
  auto r = L::fp_minimise(V.narrow(0, 0, 2), wilson(), o);  // the first batch, as the command ran it
  auto stored = read_tensor(f, "derivatives").narrow(0, 0, 2);
  EXPECT_LT((r.derivative - stored).abs().max().item<double>(), 1e-10);
  EXPECT_LT((r.action - read_tensor(f, "action").narrow(0, 0, 2)).abs().max().item<double>(), 1e-10);
  // D^FP is fp_derivative at the minimiser, and far from zero on these rough configurations.
  EXPECT_LT((L::fp_derivative(r.U, V.narrow(0, 0, 2)) - stored).abs().max().item<double>(), 1e-14);
  EXPECT_GT(stored.abs().max().item<double>(), 1e-2);
}

// store_minimisers: fine_links holds U*, and the stored row is what U* gives — A[U*], T[U*, V] and D^FP recomputed
// from it — through a crash and resume as well; without the key there is no such dataset.
TEST_F(FpDataTest, StoredMinimisersReproduceTheirRows) {
  ASSERT_EQ(run_blockspin(cmd("plain")).status, 0);
  EXPECT_FALSE(has_dataset(open_h5(dir / "plain" / "fp_data.h5", "fp_data"), "fine_links"));
  const std::string store = "--set store_minimisers=true";
  ASSERT_NE(run_blockspin(cmd("part", store), "BLOCKSPIN_TEST_CRASH_AFTER=1").status, 0);
  auto r = run_blockspin(cmd("part", store + " --resume"));
  ASSERT_EQ(r.status, 0) << r.output;
  H5::H5File f = open_h5(dir / "part" / "fp_data.h5", "fp_data");
  EXPECT_EQ(dataset_shape(f, "fine_links"), (std::vector<int64_t>{3, 4, 4, 4, 4, 4, 2, 2}));
  const auto U = read_tensor(f, "fine_links"), V = read_tensor(f, "coarse_links");
  EXPECT_LT(L::max_su_n_violation(U).max().item<double>(), 1e-12);
  EXPECT_LT((L::GaugeAction::wilson(1.0)(U) - read_tensor(f, "fine_action")).abs().max().item<double>(), 1e-10);
  EXPECT_LT((L::blocking_kernel(U, V) - read_tensor(f, "kernel")).abs().max().item<double>(), 1e-10);
  EXPECT_LT((L::fp_derivative(U, V) - read_tensor(f, "derivatives")).abs().max().item<double>(), 1e-13);
  // The other datasets are those of the run without minimisers.
  H5::H5File g = open_h5(dir / "plain" / "fp_data.h5", "fp_data");
  for (const char* name : {"action", "derivatives", "iterations"})
    EXPECT_TRUE(torch::equal(read_tensor(f, name), read_tensor(g, name))) << name;
}

TEST_F(FpDataTest, ResumeAfterCrashIsBitwiseIdentical) {
  ASSERT_EQ(run_blockspin(cmd("full")).status, 0);
  auto crashed = run_blockspin(cmd("part"), "BLOCKSPIN_TEST_CRASH_AFTER=1");  // after the first of two batches
  ASSERT_NE(crashed.status, 0);
  EXPECT_TRUE(fs::exists(dir / "part" / "coarse.h5"));
  EXPECT_TRUE(fs::exists(dir / "part" / "chunks" / "batch_000000.h5"));
  EXPECT_FALSE(fs::exists(dir / "part" / "fp_data.h5"));
  auto refused = run_blockspin(cmd("part"));
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("--resume"), std::string::npos);
  auto other = run_blockspin(cmd("part", "--resume --set minimiser.grad_tol=1e-5"));
  EXPECT_NE(other.status, 0);
  EXPECT_NE(other.output.find("config differs"), std::string::npos) << other.output;
  {  // a run started by an older version, before minimiser.stall_iterations existed: resumes (the default applies)
    H5::H5File f((dir / "part" / "coarse.h5").string(), H5F_ACC_RDWR);
    auto stored = nlohmann::json::parse(read_string_attribute(f, "config"));
    ASSERT_EQ(stored["minimiser"].erase("stall_iterations"), 1u);
    f.removeAttr("config");
    write_attribute(f, "config", stored.dump());
  }
  auto resumed = run_blockspin(cmd("part", "--resume"));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming after batch 1"), std::string::npos) << resumed.output;
  EXPECT_EQ(bytes(dir / "full" / "fp_data.h5"), bytes(dir / "part" / "fp_data.h5"));
  auto again = run_blockspin(cmd("part", "--resume"));
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.output.find("already complete"), std::string::npos);
}

TEST_F(FpDataTest, InputsFromEnsemblesAndNonSuNLink) {
  std::ofstream(dir / "gen.json") << R"({
    "lattice": {"shape": [2, 2, 2, 2]}, "group": "SU2", "action": {"name": "wilson", "beta": 3.0},
    "algorithm": {"name": "heatbath", "or_steps": 1}, "n_therm": 3, "n_configs": 2, "save_every": 1, "seed": 2})";
  auto g = run_blockspin("generate --config " + (dir / "gen.json").string() + " --out " + (dir / "ens").string());
  ASSERT_EQ(g.status, 0) << g.output;
  const auto ens = (dir / "ens" / "ensemble.h5").string();
  std::ofstream(dir / "in.json") << R"({"inputs": [{"ensemble": ")" + ens + R"("}],
    "minimiser": {"grad_tol": 1e-6}, "batch_size": 2})";
  auto r = run_blockspin(cmd("in", "", "in.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  {
    H5::H5File f = open_h5(dir / "in" / "fp_data.h5", "fp_data");
    EXPECT_TRUE(torch::equal(read_tensor(f, "coarse_links"), read_ensemble(ens).links));
    EXPECT_TRUE(torch::equal(read_tensor(f, "beta_wil"), torch::full({2}, 3.0, torch::kDouble)));
    const auto config = nlohmann::json::parse(read_string_attribute(f, "config"));
    EXPECT_EQ(config["group"], "SU2");  // taken from the file and recorded
    EXPECT_EQ(config["lattice"]["shape"], nlohmann::json::parse("[2, 2, 2, 2]"));
  }
  // One link off SU(2): a one-line error naming the file, the configuration and the link; nothing written.
  auto e = read_ensemble(ens);
  e.links.index({1, 2, 1, 0, 1, 0}).mul_(1.1);
  write_ensemble(dir / "bad.h5", e);
  std::ofstream(dir / "bad.json") << R"({"inputs": [{"ensemble": ")" + (dir / "bad.h5").string() + R"("}]})";
  auto bad = run_blockspin(cmd("never", "", "bad.json"));
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("bad.h5"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("configuration 1: link not in SU(2) at mu 2, site (1, 0, 1, 0)"), std::string::npos)
      << bad.output;
  EXPECT_FALSE(fs::exists(dir / "never"));
  // A shape given in the config must agree with the files.
  auto mismatch = run_blockspin(cmd("never", "--set lattice.shape=[4,2,2,2]", "in.json"));
  EXPECT_NE(mismatch.status, 0);
  EXPECT_NE(mismatch.output.find("lattice.shape"), std::string::npos) << mismatch.output;
}

TEST_F(FpDataTest, BadInputIsRejectedBeforeWriting) {
  ASSERT_EQ(run_blockspin(cmd("done")).status, 0);
  const auto before = bytes(dir / "done" / "fp_data.h5");
  const std::vector<std::pair<std::string, std::string>> cases{
      {"--set minimiser.grad_tl=1e-6", "minimiser.grad_tl"},  // unknown key
      {"--set lattice.shape=[1,2,2,2]", "lattice.shape"},     // coarse extent 1
      {"--set minimiser.grad_tol=0", "minimiser.grad_tol"},
      {"--set fine_action.name=wilsn", "fine_action.name"},
      {"--set fine_action.beta=6", "fine_action.beta"},  // the fine action is β-free
      {"--set generate.n_configs=3 --set generate.n_chains=2", "generate.n_configs"},
      {"--set inputs=[{\\\"ensemble\\\":\\\"x.h5\\\"}]", "inputs"},  // both sources
      {"--set instantons.start=\\\"random\\\"", "instantons.start"},
      {"--set minimiser.second_start_noise=-0.1", "minimiser.second_start_noise"},
      {"--set minimiser.second_start_noise=0.5 --set instantons.start=\\\"fine\\\"", "minimiser.second_start_noise"},
  };
  for (const auto& [extra, key] : cases) {
    for (const char* out : {"bad", "done"}) {  // a new directory is not created, an existing run is left untouched
      auto r = run_blockspin(cmd(out, extra + (std::string(out) == "done" ? " --force" : "")));
      EXPECT_NE(r.status, 0) << extra;
      EXPECT_NE(r.output.find(key), std::string::npos) << extra << "\n" << r.output;
    }
    EXPECT_FALSE(fs::exists(dir / "bad")) << extra;
    EXPECT_EQ(bytes(dir / "done" / "fp_data.h5"), before) << extra;
  }
}

TEST_F(FpDataTest, NonConvergenceIsReportedAndStored) {
  auto r = run_blockspin(cmd("nc", "--set minimiser.max_iterations=2"));
  EXPECT_NE(r.status, 0);  // require_converged (default): non-zero exit, after writing
  EXPECT_NE(r.output.find("did not converge: gradient norm"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("require_converged"), std::string::npos) << r.output;
  H5::H5File f = open_h5(dir / "nc" / "fp_data.h5", "fp_data");
  EXPECT_TRUE(torch::equal(read_tensor(f, "converged"), torch::zeros({3}, torch::kLong)));
  EXPECT_TRUE((read_tensor(f, "grad_norm") > 1e-6).all().item<bool>());
  auto s = nlohmann::json::parse(std::ifstream(dir / "nc" / "summary.json"));
  EXPECT_EQ(s["n_converged"], 0);
  EXPECT_EQ(s["failed"].size(), 3u);
  auto ok = run_blockspin(cmd("nc2", "--set minimiser.max_iterations=2 --set require_converged=false"));
  EXPECT_EQ(ok.status, 0) << ok.output;
}

TEST_F(FpDataTest, InstantonStartsUnblockedFineAndTheLowerOfBoth) {
  // Only the instanton (third row) depends on the start; "both" keeps the lower of the two minima. At ρ = 1.5 on 2^4
  // the unblocked start ends in a higher local minimum (41.25 against 38.30).
  auto action_of = [&](const std::string& out, const std::string& start) {
    auto r = run_blockspin(cmd(out, "--set instantons.rho=[1.5] --set instantons.start=\\\"" + start + "\\\""));
    EXPECT_EQ(r.status, 0) << r.output;
    H5::H5File f = open_h5(dir / out / "fp_data.h5", "fp_data");
    return std::make_pair(read_tensor(f, "action"), r.output);
  };
  auto [unblocked, log_u] = action_of("u", "unblocked");
  auto [fine, log_f] = action_of("f", "fine");
  auto [both, log_b] = action_of("b", "both");
  EXPECT_EQ(log_u.find("from the fine instanton"), std::string::npos);
  EXPECT_NE(log_b.find("from the fine instanton"), std::string::npos) << log_b;
  EXPECT_TRUE(torch::equal(unblocked.narrow(0, 0, 2), fine.narrow(0, 0, 2)));  // Monte Carlo rows: unblocked start
  EXPECT_LT(fine[2].item<double>(), unblocked[2].item<double>() - 1.0);
  EXPECT_NEAR(both[2].item<double>(), fine[2].item<double>(), 1e-10);
  // "fine" is a minimisation from the discretised fine instanton (radius 2ρ on 4^4, default centre).
  H5::H5File f = open_h5(dir / "f" / "fp_data.h5", "fp_data");
  L::FpMinimiserOptions o;
  o.grad_tol = 1e-6;
  o.max_iterations = 500;
  L::InstantonOptions io;
  io.rho = 3.0;
  o.initial_guess = L::bpst_instanton({4, 4, 4, 4}, 2, io, torch::TensorOptions().dtype(torch::kComplexDouble));
  auto r = L::fp_minimise(read_tensor(f, "coarse_links").narrow(0, 2, 1), wilson(), o);
  EXPECT_NEAR(r.action[0].item<double>(), fine[2].item<double>(), 1e-10);
}

// minimiser.second_start_noise: every Monte Carlo row is minimised from the unblocked start and from that start with
// each fine link multiplied by exp(i ε η_a t^a) (a stream per row: stream_seed(seed, 2^32 + row)); the row keeps the
// lower converged minimum, second_start holds both minima and how far apart D^FP is, summary.json counts them per
// β_wil. The starts depend on the row only, so batches of one give the same rows.
TEST_F(FpDataTest, SecondStartsFromAPerturbedStartPerRow) {
  const std::string second = "--set minimiser.second_start_noise=0.7 --set instantons.enabled=false";
  auto r = run_blockspin(cmd("s2", second));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("from the perturbed start"), std::string::npos) << r.output;
  ASSERT_EQ(run_blockspin(cmd("s1", second + " --set batch_size=1")).status, 0);
  ASSERT_EQ(run_blockspin(cmd("plain", "--set instantons.enabled=false")).status, 0);
  EXPECT_FALSE(has_dataset(open_h5(dir / "plain" / "fp_data.h5", "fp_data"), "second_start"));
  H5::H5File f = open_h5(dir / "s2" / "fp_data.h5", "fp_data");
  ASSERT_EQ(dataset_shape(f, "second_start"), (std::vector<int64_t>{2, 3}));
  const auto starts = read_tensor(f, "second_start"), action = read_tensor(f, "action");
  const auto V = read_tensor(f, "coarse_links");
  EXPECT_LT(
      (starts - read_tensor(open_h5(dir / "s1" / "fp_data.h5", "fp_data"), "second_start")).abs().max().item<double>(),
      1e-9);
  // The first start is the plain run's minimisation.
  const auto plain = read_tensor(open_h5(dir / "plain" / "fp_data.h5", "fp_data"), "action");
  EXPECT_LT((starts.select(1, 0) - plain).abs().max().item<double>(), 1e-10);
  L::FpMinimiserOptions o;
  o.grad_tol = 1e-6;
  o.max_iterations = 500;
  for (int64_t k = 0; k < 2; ++k) {
    // The second start rebuilt by hand, minimised alone.
    auto gen = L::make_generator(L::stream_seed(3, (int64_t{1} << 32) + k));
    auto start = L::unblock_start(V.narrow(0, k, 1));
    auto prefix = start.sizes().vec();
    prefix.resize(prefix.size() - 2);
    o.initial_guess = torch::matmul(L::random_su_n_near_identity(prefix, 2, 0.7, gen, start.options()), start);
    auto alt = L::fp_minimise(V.narrow(0, k, 1), wilson(), o);
    EXPECT_NEAR(starts[k][1].item<double>(), alt.action[0].item<double>(), 1e-10) << k;
    EXPECT_GT((o.initial_guess - start).abs().max().item<double>(), 0.1);  // a genuinely other start
    auto unblocked = o;
    unblocked.initial_guess = torch::Tensor();
    auto first = L::fp_minimise(V.narrow(0, k, 1), wilson(), unblocked);
    const double msd = (alt.derivative - first.derivative).square().mean().item<double>();
    EXPECT_NEAR(starts[k][2].item<double>(), msd, 1e-12 + 1e-8 * msd) << k;
    // The kept row is the lower minimum.
    EXPECT_NEAR(action[k].item<double>(), std::min(starts[k][0].item<double>(), starts[k][1].item<double>()), 1e-12);
  }
  auto s = nlohmann::json::parse(std::ifstream(dir / "s2" / "summary.json"));
  ASSERT_EQ(s["second_start"].size(), 2u);
  EXPECT_EQ(s["second_start"][0]["beta_wil"], 2.5);
  EXPECT_EQ(s["second_start"][0]["n"], 1);
  EXPECT_NEAR(s["second_start"][1]["mean_derivative_L2_between_minima"].get<double>(),
              starts[1][2].item<double>() / 2.0, 1e-15);
  for (int64_t k = 0; k < 2; ++k) {  // another minimum: relative gap above 1e-9 (rounding is ~1e-15)
    const double gap = (starts[k][0].item<double>() - starts[k][1].item<double>()) / action[k].item<double>();
    EXPECT_EQ(s["second_start"][k]["n_different"], std::abs(gap) > 1e-9 ? 1 : 0) << k;
    EXPECT_EQ(s["second_start"][k]["n_second_lower"], gap > 1e-9 ? 1 : 0) << k;
  }
  EXPECT_TRUE(nlohmann::json::parse(std::ifstream(dir / "plain" / "summary.json"))["second_start"].is_null());
}

TEST_F(FpDataTest, AnEarlierRunsConfigurationsAreMinimisedAgain) {
  // The inception iteration's data step: inputs[].fp_data re-minimises an earlier run's coarse configurations (same
  // rows, β_wil, kind, ρ) and summary.json's previous_iteration records how A_FP and D^FP changed.
  ASSERT_EQ(run_blockspin(cmd("it0")).status, 0);
  const auto it0 = (dir / "it0" / "fp_data.h5").string();
  std::ofstream(dir / "again.json") << R"({"inputs": [{"fp_data": ")" + it0 + R"("}],
    "minimiser": {"grad_tol": 1e-6, "max_iterations": 500}, "batch_size": 2, "seed": 3})";
  // Same fine action, same batches: the same minimisations, so nothing changes.
  auto same = run_blockspin(cmd("same", "", "again.json"));
  ASSERT_EQ(same.status, 0) << same.output;
  EXPECT_NE(same.output.find("change against inputs[0]"), std::string::npos) << same.output;
  H5::H5File f0 = open_h5(it0, "fp_data");
  {
    H5::H5File f = open_h5(dir / "same" / "fp_data.h5", "fp_data");
    for (const char* name : {"coarse_links", "kind", "action", "derivatives"})
      EXPECT_TRUE(torch::equal(read_tensor(f, name), read_tensor(f0, name))) << name;
    for (const char* name : {"beta_wil", "rho"})  // NaN for instantons / Monte Carlo rows
      EXPECT_TRUE(torch::equal(read_tensor(f, name).nan_to_num(-1), read_tensor(f0, name).nan_to_num(-1))) << name;
    EXPECT_TRUE(torch::equal(read_tensor(f, "source_index"), torch::arange(3, torch::kLong)));
    auto s = nlohmann::json::parse(std::ifstream(dir / "same" / "summary.json"));
    const auto& prev = s["previous_iteration"];
    ASSERT_EQ(prev.size(), 1u);
    ASSERT_EQ(prev[0]["per_beta"].size(), 2u);
    ASSERT_EQ(prev[0]["instantons"].size(), 1u);
    EXPECT_EQ(prev[0]["per_beta"][0]["relative_change"].get<double>(), 0.0);
    EXPECT_EQ(prev[0]["per_beta"][1]["derivative_relative_change"].get<double>(), 0.0);
    EXPECT_EQ(prev[0]["instantons"][0]["relative_change"].get<double>(), 0.0);
    EXPECT_EQ(prev[0]["fine_action"], nlohmann::json::parse(R"({"name": "wilson"})").dump());
  }
  // Another fine action on the right-hand side, one β and no instantons: the row is the earlier file's row 1, and
  // the recorded change is the one of a direct minimisation with that action.
  auto sym = run_blockspin(cmd("sym",
                               "--set fine_action.name=\\\"symanzik\\\" --set inputs[0].betas=[4.0] "
                               "--set inputs[0].instantons=false",
                               "again.json"));
  ASSERT_EQ(sym.status, 0) << sym.output;
  H5::H5File f = open_h5(dir / "sym" / "fp_data.h5", "fp_data");
  EXPECT_TRUE(torch::equal(read_tensor(f, "source_index"), torch::tensor({1}, torch::kLong)));
  EXPECT_DOUBLE_EQ(read_tensor(f, "beta_wil")[0].item<double>(), 4.0);
  L::FpMinimiserOptions o;
  o.grad_tol = 1e-6;
  o.max_iterations = 500;
  auto r = L::fp_minimise(
      read_tensor(f0, "coarse_links").narrow(0, 1, 1),
      [](const torch::Tensor& U) { return L::GaugeAction::symanzik(1.0)(U); }, o);
  const double before = read_tensor(f0, "action")[1].item<double>(), after = r.action[0].item<double>();
  EXPECT_GT(std::abs(after - before), 1e-3 * before);  // the right-hand side matters
  auto s = nlohmann::json::parse(std::ifstream(dir / "sym" / "summary.json"));
  const auto& p = s["previous_iteration"][0]["per_beta"];
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0]["beta_wil"].get<double>(), 4.0);
  EXPECT_NEAR(p[0]["relative_change"].get<double>(), (after - before) / before, 1e-8);
  EXPECT_GT(p[0]["derivative_relative_change"].get<double>(), 1e-3);
  EXPECT_TRUE(s["previous_iteration"][0]["instantons"].empty());
  // Bad selections and files: one line naming the key, nothing written.
  for (const auto& [extra, key] : std::vector<std::pair<std::string, std::string>>{
           {"--set inputs[0].betas=[3.0]", "inputs[0].betas"},
           {"--set inputs[0].fp_data=\\\"" + (dir / "it0" / "summary.json").string() + "\\\"", "inputs[0].fp_data"},
           {"--set inputs[0].ensemble=\\\"" + it0 + "\\\"", "inputs[0].fp_data"}}) {
    auto bad = run_blockspin(cmd("never", extra, "again.json"));
    EXPECT_NE(bad.status, 0) << extra;
    EXPECT_NE(bad.output.find(key), std::string::npos) << extra << "\n" << bad.output;
    EXPECT_FALSE(fs::exists(dir / "never")) << extra;
  }
}
