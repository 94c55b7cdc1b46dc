#!/usr/bin/env bash
# The shipped FP-action model (issue 17), end to end and resumable: FP data (SU(3) 4^4 -> 8^4, four training sets of
# 144 configurations, ~25 min each on two torchrun ranks) and a third never trained on, training (configs/train_fp_action_su3.json: float32,
# the derivatives weighted 10x, 6000 steps), evaluation against the classical actions, TorchScript export
# for 4^4 and 8^4, and the copy a user gets under models/fp_action_su3/ (a run directory: generate's action.model,
# fp-data's fine_action.model, evaluate and export accept it). Every step resumes where a killed run stopped.
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
# The first set (3 of 147 did not converge here).
fp_data "$RUNS/fp_su3_train" --config configs/fp_data_su3_4x4_train.json
# The second set: the same ensemble recipe with another seed and no instantons (144 configurations; under torchrun
# with 2 ranks it took 34 min here: OMP_NUM_THREADS=1 torchrun --no_python --nproc_per_node 2 --redirects 2 --tee 2
# --log_dir DIR $B fp-data ...).
fp_data "$RUNS/fp_su3_train2" --config configs/fp_data_su3_4x4_train.json --set seed=2 --set instantons.enabled=false
# The third set, never trained on: an independent test set (16 configurations per beta_wil where the first two sets'
# test splits have 1-5; 1 of 144 did not converge here; 51 min on one core).
fp_data "$RUNS/fp_su3_train3" --config configs/fp_data_su3_4x4_train.json --set seed=3 --set instantons.enabled=false
# Sets 4 and 5: beta_wil 5 ... 6 in steps of 0.125 from 8 heatbath chains per beta (hot / cold starts), where one chain
# per beta sampled too little of the ensemble (144 configurations each, ~58 min each on one core, side by side).
fp_data "$RUNS/fp_su3_train4" --config configs/fp_data_su3_4x4_lowbeta.json
fp_data "$RUNS/fp_su3_train5" --config configs/fp_data_su3_4x4_lowbeta.json --set seed=5 --set 'generate.start="cold"'
# A multi-chain test set, never trained on: the lowbeta recipe at the standard couplings 5 ... 7 (112 configurations,
# 37 min on one core).
fp_data "$RUNS/fp_su3_test6" --config configs/fp_data_su3_4x4_lowbeta.json --set seed=6 \
  --set 'generate.betas=[5.0,5.25,5.5,5.75,6.0,6.5,7.0]'
if [ ! -f "$RUNS/fp_action_su3/metrics.json" ]; then
  D="\"$RUNS/fp_su3_train/fp_data.h5\",\"$RUNS/fp_su3_train2/fp_data.h5\""
  D="$D,\"$RUNS/fp_su3_train4/fp_data.h5\",\"$RUNS/fp_su3_train5/fp_data.h5\""
  "$B" train --config configs/train_fp_action_su3.json --out "$RUNS/fp_action_su3" --set "data.files=[$D]" \
    $(resume_or_start "$RUNS/fp_action_su3")  # float32, derivatives weighted 10x, 6000 steps: ~65 min on one core
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
# The README's table: every model compared with the same classical fits (sets 1 + 2).
"$B" evaluate --model "$R" --out "$RUNS/fp_action_su3_eval_set3_f12" --force \
  --set "data.files=[\"$RUNS/fp_su3_train3/fp_data.h5\"]" --set evaluate.split=all \
  --set "evaluate.fit_files=[\"$RUNS/fp_su3_train/fp_data.h5\",\"$RUNS/fp_su3_train2/fp_data.h5\"]"
"$B" export --model "$R" --out "$RUNS/fp_action_su3_export" --force \
  --set 'shapes=[[4,4,4,4],[8,8,8,8]]'
rm -rf "$MODEL.new" && mkdir -p "$MODEL.new/model" "$MODEL.new/evaluate" "$MODEL.new/evaluate_set3" \
  "$MODEL.new/evaluate_set6" "$MODEL.new/export"
cp "$R/model/checkpoint.h5" "$R/model/model.json" "$R/model/metrics.jsonl" "$MODEL.new/model/"
cp "$R/metrics.json" "$R"/training_curve.* "$MODEL.new/"
cp "$RUNS/fp_action_su3_eval"/metrics.json "$RUNS/fp_action_su3_eval"/*.png "$MODEL.new/evaluate/"
cp "$RUNS/fp_action_su3_eval_set3"/metrics.json "$RUNS/fp_action_su3_eval_set3"/*.png "$MODEL.new/evaluate_set3/"
cp "$RUNS/fp_action_su3_eval_set6"/metrics.json "$RUNS/fp_action_su3_eval_set6"/*.png "$MODEL.new/evaluate_set6/"
cp "$RUNS/fp_action_su3_export"/*.pt "$RUNS/fp_action_su3_export"/export.json "$MODEL.new/export/"
rm -rf "$MODEL.old" && { [ ! -d "$MODEL" ] || mv "$MODEL" "$MODEL.old"; } && mv "$MODEL.new" "$MODEL" && rm -rf "$MODEL.old"
du -sh "$MODEL"
