// Config readers shared by subcommands (see lattice_config.h).
#include "apps/readers/lattice_config.h"

#include "lattice/kernels/mode.h"
#include "run/distributed.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <regex>

namespace blockspin::apps {

std::vector<int64_t> read_shape(Config& cfg, const std::string& key, bool even) {
  auto shape = cfg.require<std::vector<int64_t>>(key, Check::extents(0, even));
  if (shape.size() < 2)
    throw ConfigError("config key '" + cfg.key_path(key) + "': expected a list of at least 2 extents (D >= 2), got " +
                      std::to_string(shape.size()));
  return shape;
}

int64_t read_group(Config& cfg, const std::string& key) {
  const auto name = cfg.get<std::string>(key, "SU3");
  static const std::regex pattern(R"(^[sS][uU]\(?([0-9]+)\)?$)");
  std::smatch m;
  if (std::regex_match(name, m, pattern) && m[1].length() <= 3) {
    const int64_t n = std::stoll(m[1].str());
    if (n >= 2 && n <= 16) return n;
  }
  throw ConfigError("config key '" + cfg.key_path(key) +
                    "': expected a group SU(N) with 2 <= N <= 16, e.g. \"SU3\", got \"" + name + "\"");
}

void check_memory(const Config& cfg, const std::string& key, int64_t batch, const std::vector<int64_t>& shape,
                  int64_t N, torch::Dtype dtype) {
  double bytes = static_cast<double>(batch) * static_cast<double>(shape.size()) * static_cast<double>(N * N) *
                 (dtype == torch::kFloat ? 8.0 : 16.0);
  for (auto x : shape) bytes *= static_cast<double>(x);
  const double memory = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (memory > 0 && bytes > 0.5 * memory)
    throw ConfigError(
        fmt::format("config key '{}': {} SU({}) field(s) on {} need {:.3g} GiB for the links alone; this "
                    "machine has {:.3g} GiB of memory",
                    cfg.key_path(key), batch, N, fmt::join(shape, "x"), bytes / (1 << 30), memory / (1 << 30)));
}

torch::Device read_device(Config& cfg) {
  const auto name = cfg.get<std::string>("device", "cpu");
  static const std::regex pattern(R"(^(cpu|cuda(:[0-9]+)?)$)");
  if (!std::regex_match(name, pattern))
    throw ConfigError("config key '" + cfg.key_path("device") + "': expected \"cpu\", \"cuda\" or \"cuda:K\", got \"" +
                      name + "\"");
  torch::Device device(name);
  if (device.is_cuda()) {
    if (!torch::cuda::is_available())
      throw ConfigError("config key '" + cfg.key_path("device") + "': \"" + name +
                        "\" requested but no CUDA device is available (LibTorch without CUDA, or no GPU)");
    if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count()))
      throw ConfigError("config key '" + cfg.key_path("device") + "': \"" + name + "\" but only " +
                        std::to_string(torch::cuda::device_count()) + " CUDA device(s) exist");
    // Under torchrun / srun, "cuda" means this process's GPU: LOCAL_RANK (mod the GPUs this process sees).
    if (const auto launch = run::launch_environment(); !device.has_index() && launch.launched()) {
      const int count = static_cast<int>(torch::cuda::device_count());
      device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(launch.local_rank % count));
    }
  }
  return device;
}

void apply_kernels(Config& cfg) {
  const auto name = cfg.get<std::string>("kernels", "fused", Check::one_of({"fused", "torch"}));
  lattice::kernels::set_mode(lattice::kernels::mode_from_name(name));
}

torch::Dtype read_dtype(Config& cfg) {
  const auto name = cfg.get<std::string>("dtype", "float64", Check::one_of({"float64", "float32"}));
  return name == "float64" ? torch::kDouble : torch::kFloat;
}

std::vector<std::pair<int64_t, int64_t>> read_wilson_loops(Config& cfg, const std::string& key) {
  const auto raw = cfg.get<nlohmann::json>(key, nlohmann::json::parse("[[1,1],[1,2],[2,2]]"));
  if (!raw.is_array()) throw ConfigError("config key '" + cfg.key_path(key) + "': expected a list of [m, n] pairs");
  std::vector<std::pair<int64_t, int64_t>> loops;
  for (size_t i = 0; i < raw.size(); ++i) {
    const auto& p = raw[i];
    if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number_integer() || p[0] < 1 ||
        p[1] < 1)
      throw ConfigError("config key '" + cfg.key_path(key) + "[" + std::to_string(i) +
                        "]': expected [m, n] with positive integers, got " + p.dump());
    loops.emplace_back(p[0].get<int64_t>(), p[1].get<int64_t>());
  }
  return loops;
}

lattice::GaugeAction read_gauge_action(Config& a) {
  const auto name = a.get<std::string>("name", "wilson", Check::one_of(lattice::GaugeAction::names()));
  const double beta = a.require<double>("beta", Check::positive());
  const double c1 = name == "rectangle" ? a.require<double>("c1") : 0.0;
  return lattice::GaugeAction::from_name(name, beta, c1);
}

lattice::McAlgorithm read_mc_algorithm(Config& alg, const std::vector<int64_t>& shape,
                                       const lattice::GaugeAction& action, const std::string& shape_key,
                                       const std::optional<std::string>& default_name) {
  lattice::McAlgorithm a;
  const auto names = Check::one_of({"hmc", "heatbath"});
  const std::string name =
      default_name ? alg.get<std::string>("name", *default_name, names) : alg.require<std::string>("name", names);
  a.kind = name == "hmc" ? lattice::McKind::hmc : lattice::McKind::heatbath;
  if (a.kind == lattice::McKind::hmc) {
    const lattice::HmcOptions d;  // defaults live in the library
    a.hmc.trajectory_length = alg.get<double>("trajectory_length", d.trajectory_length, Check::positive());
    a.hmc.steps = alg.get<int64_t>("steps", d.steps, Check::positive());
    a.hmc.integrator = lattice::integrator_from_name(alg.get<std::string>(
        "integrator", lattice::integrator_name(d.integrator), Check::one_of(lattice::integrator_names())));
    a.hmc.reunitarise = alg.get<bool>("reunitarise", d.reunitarise);
    a.accept_all_therm = alg.get<int64_t>("accept_all_therm", 10, Check::non_negative());
  } else {
    a.heatbath.or_steps = alg.get<int64_t>("or_steps", lattice::HeatbathOptions{}.or_steps, Check::non_negative());
    try {
      lattice::check_heatbath_geometry(shape, action);
    } catch (const std::invalid_argument& e) {
      throw ConfigError("config key '" + shape_key + "': " + std::string(e.what()));
    }
  }
  return a;
}

}  // namespace blockspin::apps
