// Fixed-point-action data on disk (see fp_data_file.h).
#include "io/fp_data_file.h"

#include "io/h5io.h"
#include "support/errors.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace blockspin::io {

const std::vector<std::pair<const char*, torch::Tensor FpCoarse::*>>& fp_coarse_fields() {
  static const std::vector<std::pair<const char*, torch::Tensor FpCoarse::*>> f{
      {"coarse_links", &FpCoarse::links},
      {"beta_wil", &FpCoarse::beta_wil},
      {"kind", &FpCoarse::kind},
      {"rho", &FpCoarse::rho},
      {"source", &FpCoarse::source},
      {"source_index", &FpCoarse::source_index},
      {"wilson_action", &FpCoarse::wilson_action}};
  return f;
}

const std::vector<std::pair<const char*, torch::Tensor FpResults::*>>& fp_result_fields() {
  static const std::vector<std::pair<const char*, torch::Tensor FpResults::*>> f{
      {"action", &FpResults::action},       {"fine_action", &FpResults::fine_action},
      {"kernel", &FpResults::kernel},       {"derivatives", &FpResults::derivatives},
      {"grad_norm", &FpResults::grad_norm}, {"iterations", &FpResults::iterations},
      {"converged", &FpResults::converged}};
  return f;
}

void write_fp_coarse(H5::Group& g, const FpCoarse& c) {
  for (const auto& [name, field] : fp_coarse_fields()) write_tensor(g, name, c.*field);
}

FpCoarse read_fp_coarse(const H5::Group& g) {
  FpCoarse c;
  for (const auto& [name, field] : fp_coarse_fields()) c.*field = read_tensor(g, name);
  for (const auto& [name, field] : fp_coarse_fields())
    if ((c.*field).dim() < 1 || (c.*field).size(0) != c.size())
      throw support::InputError(fmt::format("'{}': dataset '{}' has shape [{}], expected {} rows", g.getFileName(),
                                            name, fmt::join((c.*field).sizes(), ", "), c.size()));
  return c;
}

void write_fp_results(H5::Group& g, const FpResults& r) {
  for (const auto& [name, field] : fp_result_fields()) write_tensor(g, name, r.*field);
  if (r.fine_links.defined()) write_tensor(g, "fine_links", r.fine_links);
  if (r.second_start.defined()) write_tensor(g, "second_start", r.second_start);
}

FpResults read_fp_results(const H5::Group& g, int64_t count, bool fine_links) {
  FpResults r;
  auto read_rows = [&](const char* name) {
    auto t = read_tensor(g, name);
    if (t.dim() < 1 || t.size(0) != count)
      throw support::InputError(fmt::format("'{}': dataset '{}' has shape [{}], expected {} rows", g.getFileName(),
                                            name, fmt::join(t.sizes(), ", "), count));
    return t;
  };
  for (const auto& [name, field] : fp_result_fields()) r.*field = read_rows(name);
  if (fine_links && has_dataset(g, "fine_links")) r.fine_links = read_rows("fine_links");
  if (has_dataset(g, "second_start")) r.second_start = read_rows("second_start");
  return r;
}

namespace {
template <class T, class Fields>
T concat_parts(const std::vector<T>& parts, const Fields& fields) {
  T out;
  for (const auto& [name, field] : fields) {
    std::vector<torch::Tensor> v;
    for (const auto& p : parts)
      if ((p.*field).defined()) v.push_back(p.*field);
    if (!v.empty()) out.*field = torch::cat(v);
  }
  return out;
}
}  // namespace

FpCoarse concat(const std::vector<FpCoarse>& parts) { return concat_parts(parts, fp_coarse_fields()); }
FpResults concat(const std::vector<FpResults>& parts) {
  static const std::vector<std::pair<const char*, torch::Tensor FpResults::*>> optional{
      {"fine_links", &FpResults::fine_links}};
  FpResults out = concat_parts(parts, fp_result_fields());
  out.fine_links = concat_parts(parts, optional).fine_links;
  // second_start: rows of parts written without it (older chunks) are NaN, so that the rows stay aligned.
  const bool any = std::any_of(parts.begin(), parts.end(), [](const FpResults& p) { return p.second_start.defined(); });
  if (any) {
    std::vector<torch::Tensor> v;
    for (const auto& p : parts)
      v.push_back(p.second_start.defined()
                      ? p.second_start
                      : torch::full({p.action.size(0), 3}, std::numeric_limits<double>::quiet_NaN(), torch::kDouble));
    out.second_start = torch::cat(v);
  }
  return out;
}

}  // namespace blockspin::io
