#!/usr/bin/env bash
# The shipped 4->32 flow (issue 21), end to end and resumable: 4->16 near criticality (configs/flow_phi4_4to16.json),
# 4->32 warm-started from it (configs/flow_phi4_4to32.json with flow.init_from), an independent `sample` run with its
# own seed, the TorchScript export, and the copy a user gets under models/flow_phi4_4to32/ (a train-flow output
# directory: `blockspin sample --model models/flow_phi4_4to32` reproduces the table without training).
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
if [ ! -f "$RUNS/flow_4to32/metrics.json" ]; then
  # Warm-started from 4->16 (a fresh run only; a resume continues): fewer steps at a smaller learning rate than the
  # from-scratch recipe of the config.
  "$B" train-flow --config configs/flow_phi4_4to32.json --out "$RUNS/flow_4to32" $EXTRA \
    --set "flow.init_from=\"$RUNS/flow_4to16\"" --set training.steps=200 --set training.lr=0.003 \
    --set training.lr_decay=0.995 $(resume_or_start "$RUNS/flow_4to32")
fi
"$B" sample --model "$RUNS/flow_4to32" --out "$RUNS/flow_4to32_sample" --force --set eval.seed=11 --n 10000
"$B" export --model "$RUNS/flow_4to32" --out "$RUNS/flow_4to32_export" --force
mkdir -p "$MODEL"
for f in config.json best.h5 checkpoint.h5 metrics.json metrics.jsonl ess.png couplings.png; do
  if [ -f "$RUNS/flow_4to32/$f" ]; then cp "$RUNS/flow_4to32/$f" "$MODEL/"; fi
done
cp "$RUNS/flow_4to32_sample/metrics.json" "$MODEL/sample_metrics.json"
echo "shipped: $MODEL ($(du -sh "$MODEL" | cut -f1))"
