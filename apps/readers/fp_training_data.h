// The data side of the learned FP action (train task fp_action, evaluate): the config block of a training run, the
// usable rows of its fp_data.h5 files, and the train/val/test split by configuration — one definition, so that
// `evaluate` sees exactly the splits the model was trained with.
#pragma once

#include "io/fp_data_file.h"
#include "lcnn/fp_action_model.h"
#include "run/trainer.h"
#include "support/config.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace blockspin::apps {

struct FpSetup {
  std::vector<std::string> files;
  bool instantons = false;
  double val_fraction = 0.1, test_fraction = 0.1;
  std::vector<double> holdout_betas;
  /// data.train_only_files: their rows join the train split only (see add_train_only_rows).
  std::vector<std::string> train_only_files;
  /// data.augment: "hypercubic" sees every training row through a random lattice rotation/reflection per step
  /// (apps/readers/fp_augment.h); "none" as stored.
  std::string augment = "none";
  int64_t split_seed = 1;
  nlohmann::json model_spec;
  std::string init_from;
  double w_value = 1.0, w_derivative = 1.0;
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kDouble;
  run::TrainerOptions training;
};

/// The keys of a `train` task fp_action config (README); the architecture file is read here.
FpSetup read_fp_setup(support::Config& cfg);

/// The rows of the data files (CPU), converged ones only, instantons only if `instantons`.
struct FpRows {
  io::FpCoarse coarse;
  io::FpResults results;
};
/// An InputError unless `links` holds configurations of the same shape (lattice, group) as `reference`; `what` and
/// `reference_what` name them in the message.
void check_same_configurations(const torch::Tensor& links, const std::string& what, const torch::Tensor& reference,
                               const std::string& reference_what);
/// The converged rows of the files (Monte Carlo only unless `instantons`; row-aligned, second_start included where
/// stored). At least `min_rows` usable rows (3: one each for train, val and test), else an InputError.
FpRows load_rows(const std::vector<std::string>& files, bool instantons, int64_t min_rows = 3);
inline FpRows load_rows(const FpSetup& s) { return load_rows(s.files, s.instantons); }

/// The rows of data.train_only_files (converged ones, instantons included; empty rows if none are given), checked
/// against the coarse configurations of `rows` (InputError naming the file otherwise).
FpRows load_train_only_rows(const FpSetup& s, const FpRows& rows);
/// Appends `extra` (load_train_only_rows) to `rows` and its indices to the train split: fine-tuning rows, e.g.
/// instantons of other radii, that leave the validation and test splits of data.files, and evaluate's classical fits
/// (which never read train_only_files), exactly as they are without them.
void add_train_only_rows(FpRows& rows, std::map<std::string, torch::Tensor>& splits, const FpRows& extra);

/// Row indices of the train / val / test splits: held-out β_wil go to test, the rest is split at random by the seed.
std::map<std::string, torch::Tensor> split_rows(const FpRows& rows, const FpSetup& s);
/// True if a and b load the same rows and split them alike (files, instanton rows, fractions, held-out β_wil, seed):
/// what load_rows and split_rows read of an FpSetup.
bool same_rows_and_splits(const FpSetup& a, const FpSetup& b);

/// What a trained fp_action model was trained on, kept beside its checkpoint as DIR/model/model.json (so that a
/// shipped model without its data still knows its group and lattice): n_colors, the coarse lattice shape, the
/// resolved model spec. The network itself is lattice-size independent (evaluating it on other coarse lattices is
/// transfer, not an error); the group is not: evaluate and export refuse another group.
struct FpModelCard {
  int64_t n_colors = 3;
  std::vector<int64_t> shape;
  nlohmann::json spec;
};
void write_model_card(const std::filesystem::path& run_dir, const FpRows& rows, const nlohmann::json& spec);
/// The card of the run in `run_dir`; nullopt for a run made before cards existed.
std::optional<FpModelCard> read_model_card(const std::filesystem::path& run_dir);
/// The model spec of the trained run in `run_dir`, the one reader for evaluate, export, fp-data and generate: its
/// card's spec, else (a run made before cards) the spec of the training config stored in its checkpoint.
nlohmann::json trained_model_spec(const std::filesystem::path& run_dir);

/// The FP-action model of `spec` (lcnn/fp_action_model.h) with the parameters stored in `checkpoint` (a training
/// checkpoint), in double on the CPU. An invalid spec or a checkpoint of another model is an InputError naming `where`
/// (the model's directory or file, as the user gave it).
lcnn::FpActionModel load_fp_action_model(const nlohmann::json& spec, const std::filesystem::path& checkpoint,
                                         const std::string& where);

}  // namespace blockspin::apps
