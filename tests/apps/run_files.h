// Reading a run's output files in tests: JSON documents and the datasets of an HDF5 group (checkpoint parameters).
#pragma once

#include "io/h5io.h"

#include <H5Cpp.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace blockspin::apps::testing {

inline nlohmann::json read_json(const std::filesystem::path& p) { return nlohmann::json::parse(std::ifstream(p)); }

/// Every dataset of `group` ("" = the root) of the HDF5 file `file` written with format tag `format`.
inline std::map<std::string, torch::Tensor> datasets(const std::filesystem::path& file, const std::string& format,
                                                     const std::string& group = "") {
  H5::H5File f = io::open_h5(file, format);
  H5::Group g = group.empty() ? f.openGroup("/") : f.openGroup(group);
  std::map<std::string, torch::Tensor> out;
  for (hsize_t i = 0; i < g.getNumObjs(); ++i) {
    const std::string name = g.getObjnameByIdx(i);
    if (g.getObjTypeByIdx(i) == H5G_DATASET) out[name] = io::read_tensor(g, name);
  }
  return out;
}

/// The trained parameters of a checkpoint file (group "parameters"), by name.
inline std::map<std::string, torch::Tensor> checkpoint_parameters(const std::filesystem::path& checkpoint,
                                                                  const std::string& format) {
  return datasets(checkpoint, format, "parameters");
}

}  // namespace blockspin::apps::testing
