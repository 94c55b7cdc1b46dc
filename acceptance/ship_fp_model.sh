#!/usr/bin/env bash
# The shipped FP-action model (issue 17), end to end and resumable: FP data (SU(3) 4^4 -> 8^4: five training sets,
# 147 + 144 + 64 + 48 + 80 configurations, and 12 instanton rows, ~2.3 h on one core) and two test sets never trained
# on (57 min), training in
# two stages (configs/train_fp_action_su3.json: float32, the derivatives weighted 1000x, 6000 steps; then
# configs/train_fp_action_su3_values.json: weight 10, 1500 steps), evaluation against the classical actions,
# TorchScript export for 4^4 and 8^4, and the copy a user gets under models/fp_action_su3/ (a run directory:
# generate's action.model, fp-data's fine_action.model, evaluate and export accept it). Every step resumes where a
# killed run stopped.
#   acceptance/ship_fp_model.sh            [RUNS=runs] [MODEL=models/fp_action_su3]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BLOCKSPIN:-build/bin/blockspin}
RUNS=${RUNS:-runs}
MODEL=${MODEL:-models/fp_action_su3}
resume_or_start() {  # $1 = output directory: --resume if it holds a run
  if [ -d "$1" ] && [ -n "$(ls -A "$1")" ]; then echo --resume; fi
}
fp_data() {  # $1 = output directory, the rest fp-data's arguments: made once, resumed if interrupted. Exit 5 (written,
  # but some configurations did not converge: stored, skipped by training) counts as done.
  local out=$1
  shift
  [ -f "$out/fp_data.h5" ] || "$B" fp-data "$@" --out "$out" $(resume_or_start "$out") || [ -f "$out/fp_data.h5" ]
}
# The first set (3 of 147 did not converge here; 30 min on one core).
fp_data "$RUNS/fp_su3_train" --config configs/fp_data_su3_4x4_train.json
# The third set, never trained on: an independent test set (16 configurations per beta_wil; 1 of 144 did not
# converge here; 30 min on one core).
fp_data "$RUNS/fp_su3_train3" --config configs/fp_data_su3_4x4_train.json --set seed=3 --set instantons.enabled=false
# Low beta_wil from 8 heatbath chains per beta (the 4^4 ensembles near their transition need more than one chain):
# seed 4 at beta_wil 5 ... 5.375 and 5.5 ... 5.75 (27 + 10 min), seed 7 at 5 ... 6 in steps of 0.125 (38 min; 2 of
# 144 did not converge).
fp_data "$RUNS/fp_su3_train4a" --config configs/fp_data_su3_4x4_lowbeta.json --set 'generate.betas=[5.0,5.125,5.25,5.375]'
fp_data "$RUNS/fp_su3_train4b" --config configs/fp_data_su3_4x4_lowbeta.json --set 'generate.betas=[5.5,5.625,5.75]'
fp_data "$RUNS/fp_su3_train7" --config configs/fp_data_su3_4x4_lowbeta.json --set seed=7
# seed 8 at beta_wil 5 ... 5.5 (80 configurations, all converged here; 31 min).
fp_data "$RUNS/fp_su3_train8" --config configs/fp_data_su3_4x4_lowbeta.json --set seed=8 \
  --set 'generate.betas=[5.0,5.125,5.25,5.375,5.5]'
# Twelve BPST instantons around the evaluated radii, train-only rows of both stages (3 min).
fp_data "$RUNS/fp_su3_instantons" --config configs/fp_data_su3_4x4_instantons.json
# A multi-chain test set, never trained on: the lowbeta recipe at the standard couplings 5 ... 7 (112 configurations,
# 1 did not converge here; 27 min on one core).
fp_data "$RUNS/fp_su3_test6" --config configs/fp_data_su3_4x4_lowbeta.json --set seed=6 \
  --set 'generate.betas=[5.0,5.25,5.5,5.75,6.0,6.5,7.0]'
# Stage 1 (the body with L-Acts, derivatives weighted 1000x, rows rotated/reflected at random, ~55 min on one core),
# stage 2 (values, from stage 1's checkpoint, ~14 min).
W="$RUNS/fp_action_su3_w1000"
[ -f "$W/metrics.json" ] || "$B" train --config configs/train_fp_action_su3.json --out "$W" $(resume_or_start "$W")
if [ ! -f "$RUNS/fp_action_su3/metrics.json" ]; then
  "$B" train --config configs/train_fp_action_su3_values.json --out "$RUNS/fp_action_su3" \
    $(resume_or_start "$RUNS/fp_action_su3")
fi
R="$RUNS/fp_action_su3"
"$B" evaluate --model "$R" --out "$RUNS/fp_action_su3_eval" --force
"$B" evaluate --model "$R" --out "$RUNS/fp_action_su3_eval_instantons" --force \
  --set data.instantons=true --set evaluate.split=all
# All rows of the third set (the classical actions' affine fits, as always, on the model's training split).
"$B" evaluate --model "$R" --out "$RUNS/fp_action_su3_eval_set3" --force \
  --set "data.files=[\"$RUNS/fp_su3_train3/fp_data.h5\"]" --set evaluate.split=all
"$B" evaluate --model "$R" --out "$RUNS/fp_action_su3_eval_set6" --force \
  --set "data.files=[\"$RUNS/fp_su3_test6/fp_data.h5\"]" --set evaluate.split=all
# The README's table: every model compared with the same classical fits (set 1); also averaged over the 16 lattice
# reflections (evaluate.symmetrise, 16x the cost: ~4 min each).
for t in 3:fp_su3_train3 6:fp_su3_test6; do
  for sym in none reflections; do
    "$B" evaluate --model "$R" --out "$RUNS/fp_action_su3_eval_set${t%%:*}_f1$([ $sym = none ] || echo _$sym)" --force \
      --set "data.files=[\"$RUNS/${t#*:}/fp_data.h5\"]" --set evaluate.split=all \
      --set "evaluate.fit_files=[\"$RUNS/fp_su3_train/fp_data.h5\"]" --set evaluate.symmetrise=$sym
  done
done
"$B" export --model "$R" --out "$RUNS/fp_action_su3_export" --force \
  --set 'shapes=[[4,4,4,4],[8,8,8,8]]'
rm -rf "$MODEL.new" && mkdir -p "$MODEL.new/model" "$MODEL.new/evaluate" "$MODEL.new/evaluate_set3" \
  "$MODEL.new/evaluate_set6" "$MODEL.new/evaluate_reflections_set3" "$MODEL.new/evaluate_reflections_set6" \
  "$MODEL.new/export"
cp "$R/model/checkpoint.h5" "$R/model/model.json" "$R/model/metrics.jsonl" "$MODEL.new/model/"
cp "$R/metrics.json" "$R"/training_curve.* "$MODEL.new/"
cp "$RUNS/fp_action_su3_eval"/metrics.json "$RUNS/fp_action_su3_eval"/*.png "$MODEL.new/evaluate/"
cp "$RUNS/fp_action_su3_eval_set3"/metrics.json "$RUNS/fp_action_su3_eval_set3"/*.png "$MODEL.new/evaluate_set3/"
cp "$RUNS/fp_action_su3_eval_set6"/metrics.json "$RUNS/fp_action_su3_eval_set6"/*.png "$MODEL.new/evaluate_set6/"
for t in 3 6; do  # the metrics only: fits on set 1, the model averaged over the reflections
  cp "$RUNS/fp_action_su3_eval_set${t}_f1_reflections/metrics.json" "$MODEL.new/evaluate_reflections_set$t/"
done
cp "$RUNS/fp_action_su3_export"/*.pt "$RUNS/fp_action_su3_export"/export.json "$MODEL.new/export/"
rm -rf "$MODEL.old" && { [ ! -d "$MODEL" ] || mv "$MODEL" "$MODEL.old"; } && mv "$MODEL.new" "$MODEL" && rm -rf "$MODEL.old"
du -sh "$MODEL"
