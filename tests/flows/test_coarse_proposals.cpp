// Tests of the coarse proposal source: the automatic stride makes successive rounds independent where stride 1 is
// strongly correlated; explicit strides skip the pilot; bad options throw.
#include "flow_test_helpers.h"

#include "flows/coarse_proposals.h"
#include "lattice/rng.h"

#include <cmath>

using namespace blockspin::flows;
using namespace blockspin::flows::testing;
namespace L = blockspin::lattice;

namespace {
// Free field on 4×4 at κ = 0.2 (zero-mode frequency² 2(1 − 4κ) = 0.4) with short trajectories: |m| decorrelates
// over ~10 trajectories.
CoarseProposalOptions slow_chains() {
  CoarseProposalOptions o;
  o.chains = 16;
  o.therm = 100;
  o.pilot = 200;
  o.hmc.trajectory_length = 0.5;
  o.hmc.steps = 4;
  return o;
}
const auto couplings = L::ScalarCouplings::constant(0.2, 0.0);
}  // namespace

TEST(CoarseProposals, AutomaticStrideDecorrelatesTheRounds) {
  auto gen = test_generator(71);  // on the test device, like the chains it draws
  CoarseProposals auto_src(couplings, {4, 4}, slow_chains(), gen, real());
  ASSERT_TRUE(auto_src.automatic());
  const auto& pilot = auto_src.pilot_tau();
  EXPECT_TRUE(auto_src.pilot_converged());
  EXPECT_GE(pilot.n, 200 * 16);
  EXPECT_GE(static_cast<double>(pilot.n / 16), 50 * pilot.tau_int);
  EXPECT_GT(pilot.tau_int, 2.0) << "the test needs slowly decorrelating chains";
  EXPECT_EQ(auto_src.stride(), static_cast<int64_t>(std::ceil(4 * pilot.tau_int)));
  for (int i = 0; i < 100; ++i) {
    auto phi = auto_src.next();
    ASSERT_EQ(phi.sizes(), (std::vector<int64_t>{16, 4, 4}));
  }
  const auto spaced = auto_src.round_tau();
  EXPECT_LT(spaced.tau_int, 0.5 + 3 * spaced.tau_int_error + 0.05);
  EXPECT_GT(auto_src.acceptance(), 0.9);

  auto opt = slow_chains();
  opt.stride = 1;
  CoarseProposals every(couplings, {4, 4}, opt, gen, real());
  EXPECT_FALSE(every.automatic());
  EXPECT_EQ(every.stride(), 1);
  EXPECT_EQ(every.pilot_tau().n, 0);
  for (int i = 0; i < 100; ++i) every.next();
  EXPECT_GT(every.round_tau().tau_int, 1.5);  // what the Γ-method on the accepted flow chain would not see
}

TEST(CoarseProposals, RejectsBadOptions) {
  auto gen = test_generator(72);
  auto bad = [&](auto change) {
    auto o = slow_chains();
    change(o);
    EXPECT_THROW(CoarseProposals(couplings, {4, 4}, o, gen, real()), std::invalid_argument);
  };
  bad([](CoarseProposalOptions& o) { o.chains = 0; });
  bad([](CoarseProposalOptions& o) { o.stride = -1; });
  bad([](CoarseProposalOptions& o) { o.pilot = 3; });
  bad([](CoarseProposalOptions& o) { o.stride_factor = 0; });
  auto o = slow_chains();
  o.therm = 0;
  o.stride = 2;
  CoarseProposals one(couplings, {4, 4}, o, gen, real());
  one.next();
  EXPECT_THROW(one.round_tau(), std::invalid_argument);  // one round: no autocorrelation yet
  EXPECT_THROW(CoarseProposals(couplings, {}, o, gen, real()), std::invalid_argument);
}
