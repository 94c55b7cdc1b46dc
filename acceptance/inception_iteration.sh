#!/usr/bin/env bash
# One step of the inception iteration (issue 18; arXiv:2502.03315), end to end and resumable: the learned FP action on
# the right-hand side of A_FP[V] = min_U {A[U] + T[U, V]} instead of Wilson, and the model retrained on what it gives.
#   0. iteration-0 data (Wilson on the right-hand side): the shipped model's training sets (acceptance/ship_fp_model.sh)
#      and the smooth set configs/fp_data_su3_4x4_smooth.json (β_wil 15 ... 200, ~11 min on one core);
#      model M0 = the shipped model fine-tuned on all three (configs/train_fp_action_su3_smooth.json).
#   1. iteration-1 data: the same coarse configurations minimised again with M0 on the fine lattice
#      (inputs[].fp_data; summary.json's previous_iteration: how A_FP and D^FP changed, per β_wil);
#   2. M1 = M0 fine-tuned on the iteration-1 data; both evaluated on it.
# The fixed point is reached when step 1 stops changing A_FP. Cost of step 1: see docs/results.md "The inception
# iteration" (the learned action costs far more per L-BFGS iteration than Wilson). Select fewer rows with
#   IT1_SELECT='"betas": [5.0, 6.0, 7.0, 25.0, 120.0], "n_configs": 2,'
#   acceptance/inception_iteration.sh      [RUNS=runs] [IT1_SELECT=...]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BLOCKSPIN:-build/bin/blockspin}
RUNS=${RUNS:-runs}
IT1_SELECT=${IT1_SELECT:-}
resume_or_start() {  # $1 = output directory: --resume if it holds a run
  if [ -d "$1" ] && [ -n "$(ls -A "$1")" ]; then echo --resume; fi
}
for f in "$RUNS/fp_su3_train/fp_data.h5" "$RUNS/fp_su3_train2/fp_data.h5"; do
  [ -f "$f" ] || { echo "missing $f: run acceptance/ship_fp_model.sh first" >&2; exit 2; }
done
if [ ! -f "$RUNS/fp_su3_smooth/fp_data.h5" ]; then
  "$B" fp-data --config configs/fp_data_su3_4x4_smooth.json --out "$RUNS/fp_su3_smooth" \
    $(resume_or_start "$RUNS/fp_su3_smooth")
fi
M0="$RUNS/fp_action_su3_smooth"
if [ ! -f "$M0/metrics.json" ]; then
  "$B" train --config configs/train_fp_action_su3_smooth.json --out "$M0" $(resume_or_start "$M0")
fi
# Step 1: every converged row of the three sets, minimised again with M0 on the right-hand side.
cat > "$RUNS/inception_it1.json" <<JSON
{"inputs": [{"fp_data": "$RUNS/fp_su3_train/fp_data.h5", $IT1_SELECT "instantons": false},
            {"fp_data": "$RUNS/fp_su3_train2/fp_data.h5", $IT1_SELECT "instantons": false},
            {"fp_data": "$RUNS/fp_su3_smooth/fp_data.h5", $IT1_SELECT "instantons": false}],
 "blocking": {"kappa": 8.0, "smearing": {"s_pl": 0.07, "s_d": 0.016, "s_hd": 0.008}},
 "fine_action": {"model": "$M0"},
 "minimiser": {"grad_tol": 1e-6, "max_iterations": 2000, "history": 10, "restarts": 3},
 "batch_size": 4, "require_converged": false, "seed": 1, "dtype": "float64"}
JSON
if [ ! -f "$RUNS/fp_su3_it1/fp_data.h5" ]; then
  "$B" fp-data --config "$RUNS/inception_it1.json" --out "$RUNS/fp_su3_it1" $(resume_or_start "$RUNS/fp_su3_it1")
fi
# Step 2: M1 from M0 on the iteration-1 data; M0 and M1 evaluated on its test split.
M1="$RUNS/fp_action_su3_it1"
if [ ! -f "$M1/metrics.json" ]; then
  "$B" train --config configs/train_fp_action_su3_smooth.json --out "$M1" \
    --set "data.files=[\"$RUNS/fp_su3_it1/fp_data.h5\"]" --set "model.init_from=\"$M0/model/checkpoint.h5\"" \
    $(resume_or_start "$M1")
fi
"$B" evaluate --model "$M1" --out "$RUNS/fp_action_su3_it1_eval" --force
"$B" evaluate --model "$M0" --out "$RUNS/fp_action_su3_it1_eval_m0" --force \
  --set "data.files=[\"$RUNS/fp_su3_it1/fp_data.h5\"]"
echo "A_FP change of iteration 1: $RUNS/fp_su3_it1/summary.json (previous_iteration); model errors:" \
  "$RUNS/fp_action_su3_it1_eval/metrics.json (M1), $RUNS/fp_action_su3_it1_eval_m0/metrics.json (M0)"
