#!/usr/bin/env bash
# The shipped 4->32 flow (issue 21), end to end and resumable: 4->16 near criticality (configs/flow_phi4_4to16.json),
# 4->32 in three warm-started stages (configs/flow_phi4_4to32.json with flow.init_from; each stage starts from the
# previous stage's best checkpoint with a fresh optimiser and a smaller learning rate — the settings of the runs in the
# README table: stage 1 classic RK4 without coarsening, stage 2 classic with coarsening, stage 3 the config's 3/8 rule),
# an independent `sample` run with its own seed, the TorchScript export, and the copy a user gets under
# models/flow_phi4_4to32/ (a train-flow output directory: `blockspin sample --model models/flow_phi4_4to32` reproduces
# the table without training).
# Every step resumes where a killed run stopped; the wall-clock times are in the runs' metrics.json (training.seconds).
#   acceptance/ship_flow_model.sh   [RUNS=runs] [MODEL=models/flow_phi4_4to32] [EXTRA="--set dtype=float32"]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BLOCKSPIN:-build/bin/blockspin}
RUNS=${RUNS:-runs}
MODEL=${MODEL:-models/flow_phi4_4to32}
EXTRA=${EXTRA:-}
resume_or_start() {  # $1 = output directory: --resume if it holds a run
  if [ -d "$1" ] && [ -n "$(ls -A "$1")" ]; then echo --resume; fi
}
if [ ! -f "$RUNS/flow_4to16/metrics.json" ]; then
  "$B" train-flow --config configs/flow_phi4_4to16.json --out "$RUNS/flow_4to16" $EXTRA \
    $(resume_or_start "$RUNS/flow_4to16")
fi
stage() {  # $1 = output, $2 = warm start, then --set arguments
  local out=$1 from=$2
  shift 2
  if [ ! -f "$out/metrics.json" ]; then
    "$B" train-flow --config configs/flow_phi4_4to32.json --out "$out" $EXTRA --set "flow.init_from=\"$from\"" "$@" \
      $(resume_or_start "$out")
  fi
}
stage "$RUNS/flow_4to32" "$RUNS/flow_4to16" --set training.steps=200 --set training.lr=0.003 \
  --set training.lr_decay=0.995 --set 'flow.solver="rk4"' --set training.ode_control.coarsen_below=0
stage "$RUNS/flow_4to32c" "$RUNS/flow_4to32" --set training.steps=400 --set training.lr=0.0015 \
  --set training.lr_decay=0.998 --set 'flow.solver="rk4"'
stage "$RUNS/flow_4to32d" "$RUNS/flow_4to32c" --set training.steps=300 --set training.lr=0.001 \
  --set training.lr_decay=0.998 --set training.checkpoint_every=25
FINAL="$RUNS/flow_4to32d"
"$B" sample --model "$FINAL" --out "$RUNS/flow_4to32_sample" --force --set eval.seed=11 --n 10000
"$B" export --model "$FINAL" --out "$RUNS/flow_4to32_export" --force
mkdir -p "$MODEL"
for f in config.json best.h5 checkpoint.h5 metrics.json metrics.jsonl ess.png couplings.png; do
  if [ -f "$FINAL/$f" ]; then cp "$FINAL/$f" "$MODEL/"; fi
done
cp "$RUNS/flow_4to32_sample/metrics.json" "$MODEL/sample_metrics.json"
echo "shipped: $MODEL ($(du -sh "$MODEL" | cut -f1))"
