// Gauge ensemble files (see ensemble_file.h).
#include "io/ensemble_file.h"

#include "io/h5io.h"
#include "support/version.h"

namespace blockspin::io {

void write_ensemble(const std::filesystem::path& path, const Ensemble& e) {
  write_h5_atomic(path, "ensemble", BLOCKSPIN_VERSION, [&](H5::H5File& f) {
    write_tensor(f, "links", e.links);
    write_tensor(f, "plaquette", e.plaquette);
    write_tensor(f, "chain", e.chain);
    write_tensor(f, "trajectory", e.trajectory);
    if (e.history_plaquette.defined()) {
      // A group without timestamps, so that identical data gives byte-identical files.
      const hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
      H5Pset_obj_track_times(gcpl, false);
      const hid_t gid = H5Gcreate2(f.getId(), "history", H5P_DEFAULT, gcpl, H5P_DEFAULT);
      H5Pclose(gcpl);
      if (gid < 0) throw H5Error("'" + path.string() + "': cannot create group 'history'");
      H5::Group h(gid);  // takes its own reference
      H5Gclose(gid);
      write_tensor(h, "plaquette", e.history_plaquette);
      write_tensor(h, "delta_H", e.history_delta_H);
      write_tensor(h, "accepted", e.history_accepted);
      h.close();
    }
    write_attribute(f, "config", e.config.dump());
    write_attribute(f, "seed", e.seed);
  });
}

Ensemble read_ensemble(const std::filesystem::path& path) {
  H5::H5File f = open_h5(path, "ensemble");
  Ensemble e;
  e.links = read_tensor(f, "links");
  e.plaquette = read_tensor(f, "plaquette");
  e.chain = read_tensor(f, "chain");
  e.trajectory = read_tensor(f, "trajectory");
  if (f.nameExists("history")) {
    H5::Group h = f.openGroup("history");
    e.history_plaquette = read_tensor(h, "plaquette");
    e.history_delta_H = read_tensor(h, "delta_H");
    e.history_accepted = read_tensor(h, "accepted");
  }
  if (has_attribute(f, "config")) {
    const auto text = read_string_attribute(f, "config");
    if (!text.empty()) e.config = nlohmann::json::parse(text);
  }
  if (has_attribute(f, "seed")) e.seed = read_int_attribute(f, "seed");
  const auto n = e.links.size(0);
  if (e.links.dim() < 6 || e.plaquette.size(0) != n || e.chain.size(0) != n || e.trajectory.size(0) != n)
    throw H5Error("'" + path.string() + "': inconsistent ensemble datasets (links " + std::to_string(e.links.dim()) +
                  "-dimensional with " + std::to_string(n) + " configurations)");
  return e;
}

}  // namespace blockspin::io
