// Scores of an FP action per β_wil — the relative error of the action values and the derivative loss L2 — with
// statistical errors, and the FP papers' improvement factor (best classical action / model, arXiv:2311.17816 Fig. 4,
// arXiv:2401.06481) with its error. Used by `train` (validation metrics) and `evaluate`.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace blockspin::apps {

/// Per-configuration scores [n] (double): |A_FP − A| / |A_FP|, Σ_{x,μ,a} (D^FP − D)² / norm, and β_wil.
struct FpScores {
  torch::Tensor rel, l2, beta;
};

/// The scores of action values A [n] and derivatives D [n, ...] against A_FP and D^FP; norm = 2D(N²−1)V.
FpScores fp_scores(const torch::Tensor& A, const torch::Tensor& D, const torch::Tensor& A_fp, const torch::Tensor& D_fp,
                   const torch::Tensor& beta, double norm);

/// {"n", "relative_action_error", "L2", "per_beta": {"<β>": {"n", "relative_action_error", "relative_action_error_err",
/// "L2", "L2_err"}}}: means over the configurations, overall and per β_wil; the errors (n ≥ 2 and finite values only)
/// are those of a mean of independent configurations (the Γ-method without a window, lattice/gamma_method.h).
nlohmann::json score_json(const FpScores& s);

/// Per β_wil of the model: {"relative_action_error", "relative_action_error_err", "L2", "L2_err",
/// "best_relative_action_error", "best_L2"}: the best baseline's mean error over the model's (the baselines scored on
/// the model's configurations), the ratio's error propagated through both means (n ≥ 2 only), and which baseline
/// (names[i] labels baselines[i]) was best.
nlohmann::json improvement_json(const FpScores& model, const std::vector<FpScores>& baselines,
                                const std::vector<std::string>& names);

/// Does the evaluated data lie where the training data does? Per β_wil of the evaluated rows: {"n", "mean", "sd",
/// "training": {"n", "mean", "sd"}, "shift"}: mean and standard deviation of a per-configuration observable s (e.g. the
/// Wilson action per site) over the evaluated rows and over the training rows of the same β_wil, and shift =
/// (mean − training mean) / training sd (only with ≥ 2 training rows). A one-chain ensemble near a transition can
/// sit a standard deviation away from another chain's (issue 17, twelfth session).
nlohmann::json coverage_json(const torch::Tensor& s, const torch::Tensor& beta, const torch::Tensor& s_train,
                             const torch::Tensor& beta_train);

}  // namespace blockspin::apps
