#!/usr/bin/env bash
# The inception iteration (issue 18; arXiv:2502.03315), end to end and resumable: the learned FP action on the
# right-hand side of A_FP[V] = min_U {A[U] + T[U, V]} instead of Wilson, the model retrained on what it gives, and again.
#   D0 = iteration-0 data, Wilson on the right-hand side (configs/fp_data_su3_4x4_inception.json: β_wil 5.5 ... 200);
#   M0 = the shipped model fine-tuned on D0 (configs/train_fp_action_su3_inception.json);
#   for k = 1 ... ITERATIONS:
#     D_k = the coarse configurations of D_{k-1} minimised again with M_{k-1} on the fine lattice (inputs[].fp_data;
#           D_k/summary.json's previous_iteration: how A_FP and D^FP moved, per β_wil);
#     M_{k-1} evaluated on all of D_k (its error against the new values), M_k = M_{k-1} fine-tuned on D_k, evaluated
#     on D_k's test split.
# The fixed point is reached when A_FP stops moving. acceptance/inception_summary.py tabulates the chain
# (RUNS/summary.json, RUNS/summary.md). Cost (docs/results.md "The inception iteration"): each D_k ~30 min on two
# ranks, each model ~15 min.
# Memory: a rank minimising with the learned action on 8^4 needs ~3 GB per configuration of a batch (batch 2 here).
# SELECT picks the rows of D0 that the iteration follows (inputs[].fp_data keys), e.g. '"n_configs": 3,' (the
# first 3 per β_wil; a β_wil = 5.5 configuration takes ~86 L-BFGS iterations with the learned action, ~4 min on a core).
# ARCH replaces the models' architecture (same parameters, e.g. models/architectures/fp_action_shipped_lact_positive.json
# for the shipped model since 2026-12-04, fp_action_shipped_positive.json for the ones before; bounded below: the
# plain parametrisation ran away to negative objectives in D2).
#   acceptance/inception_iteration.sh   [RUNS=runs/inception] [ITERATIONS=2] [RANKS=2] [STEPS=300] [SELECT=...] [ARCH=...]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BLOCKSPIN:-build/bin/blockspin}
RUNS=${RUNS:-runs/inception}
ITERATIONS=${ITERATIONS:-2}
RANKS=${RANKS:-2}
STEPS=${STEPS:-300}
SELECT=${SELECT:-}
ARCH=${ARCH:-}
mkdir -p "$RUNS"
resume_or_start() {  # $1 = output directory: --resume if it holds a run
  if [ -d "$1" ] && [ -n "$(ls -A "$1")" ]; then echo --resume; fi
}
fp_data() {  # $1 = config, $2 = output directory: on RANKS ranks (torchrun) when RANKS > 1
  if [ -f "$2/fp_data.h5" ]; then return; fi
  if [ "$RANKS" -gt 1 ]; then
    OMP_NUM_THREADS=1 torchrun --no_python --nproc_per_node "$RANKS" --master_port $((29500 + RANDOM % 1000)) \
      --redirects 2 --tee 2 --log_dir "$RUNS/logs" "$B" fp-data --config "$1" --out "$2" $(resume_or_start "$2")
  else
    "$B" fp-data --config "$1" --out "$2" $(resume_or_start "$2")
  fi
}
train() {  # $1 = output directory, $2 = data file, $3 = initial checkpoint, $4 = steps
  if [ -f "$1/metrics.json" ]; then return; fi
  "$B" train --config configs/train_fp_action_su3_inception.json --out "$1" \
    --set "data.files=[\"$2\"]" --set "model.init_from=\"$3\"" --set "training.steps=$4" $(resume_or_start "$1") \
    ${ARCH:+--set "model.architecture=\"$ARCH\""}
}
evaluate() {  # $1 = model, $2 = data file, $3 = split, $4 = output directory
  [ -f "$4/metrics.json" ] || "$B" evaluate --model "$1" --out "$4" --force \
    --set "data.files=[\"$2\"]" --set "evaluate.split=\"$3\""
}
fp_data configs/fp_data_su3_4x4_inception.json "$RUNS/d0"
train "$RUNS/m0" "$RUNS/d0/fp_data.h5" models/fp_action_su3/model/checkpoint.h5 400
evaluate "$RUNS/m0" "$RUNS/d0/fp_data.h5" test "$RUNS/m0_on_d0"
for k in $(seq 1 "$ITERATIONS"); do
  prev=$((k - 1))
  cat > "$RUNS/d$k.json" <<JSON
{"inputs": [{"fp_data": "$RUNS/d$prev/fp_data.h5", $SELECT "instantons": false}],
 "blocking": {"kappa": 8.0, "smearing": {"s_pl": 0.07, "s_d": 0.016, "s_hd": 0.008}},
 "fine_action": {"model": "$RUNS/m$prev"},
 "minimiser": {"grad_tol": 1e-6, "max_iterations": 2000, "history": 10, "restarts": 3},
 "batch_size": 2, "require_converged": false, "seed": 1, "dtype": "float64"}
JSON
  fp_data "$RUNS/d$k.json" "$RUNS/d$k"
  evaluate "$RUNS/m$prev" "$RUNS/d$k/fp_data.h5" all "$RUNS/m${prev}_on_d$k"
  train "$RUNS/m$k" "$RUNS/d$k/fp_data.h5" "$RUNS/m$prev/model/checkpoint.h5" "$STEPS"
  evaluate "$RUNS/m$k" "$RUNS/d$k/fp_data.h5" test "$RUNS/m${k}_on_d$k"
done
/usr/bin/python3 acceptance/inception_summary.py "$RUNS" "$ITERATIONS"
