#!/usr/bin/env bash
# Scaling with 1 and 2 ranks on this machine (torchrun, Gloo, localhost), in one run: fp-data throughput (SU(3)
# coarse 2^4 -> fine 4^4, NCONF configurations, one per batch) and the FP-action training step (batch 4, double
# backprop), each as 1 process x 1 thread, 1 process x 2 threads and 2 ranks x 1 thread; with the communication
# volume per training step; and the flow training step (train-flow, φ⁴ 4x4 -> 16x16 IR matching, batch 64, shards =
# ranks). Writes JSON to $OUT (default runs/bench/distributed_scaling.json) and prints a table.
#   benchmarks/distributed_scaling.sh [NCONF] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
nconf=${1:-8}
steps=${2:-20}
out=${OUT:-runs/bench/distributed_scaling.json}
bin=$PWD/build/bin/blockspin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$out")"

cat > "$work/fp.json" <<EOF
{"lattice": {"shape": [2, 2, 2, 2]}, "group": "SU3",
 "generate": {"betas": [5.5, 7.0], "n_configs": $((nconf / 2)), "n_therm": 5, "save_every": 1,
              "algorithm": {"name": "heatbath", "or_steps": 1}},
 "instantons": {"enabled": false}, "minimiser": {"grad_tol": 1e-8, "max_iterations": 2000},
 "batch_size": 1, "seed": 3}
EOF
cat > "$work/train.json" <<EOF
{"task": "fp_action", "seed": 2,
 "data": {"files": ["$work/fp_1x1/fp_data.h5"], "val_fraction": 0.1, "test_fraction": 0.1},
 "model": {"spec": {"network": {"layers": [{"type": "plaq"}, {"type": "lconvbilin", "out": 12, "kernel_size": 2},
           {"type": "lact"}, {"type": "lconvbilin", "out": 12, "kernel_size": 2}, {"type": "trace"},
           {"type": "linear", "out": 1}]}, "dims": 4}},
 "training": {"steps": $steps, "batch_size": 4, "log_every": $steps, "checkpoint_every": $steps, "lr": 0.001}}
EOF

cat > "$work/flow.json" <<EOF
{"seed": 1, "action": {"kappa": 0.25, "lambda": 0.01},
 "flow": {"coarse_shape": [4, 4], "levels": 2, "cnf_steps": 10},
 "training": {"steps": $steps, "batch_size": 64, "checkpoint_every": $steps, "log_every": $steps,
              "ode_control": {"tolerance": 0}, "langevin": {"therm": 2000}},
 "eval": {"n": 64, "n_hmc": 0, "coarse_stride": 2, "coarse_chains": 16, "coarse_therm": 20}}
EOF

port=$((29000 + RANDOM % 1000))
# run NAME MODE SUBCOMMAND CONFIG: MODE is 1x1, 1x2 (process x threads) or 2x1 (torchrun, 2 ranks); prints seconds.
run() {
  local name=$1 mode=$2 sub=$3 config=$4 t0 t1
  t0=$(date +%s.%N)
  case $mode in
    1x1) OMP_NUM_THREADS=1 "$bin" "$sub" --config "$config" --out "$work/$name" --log-level warn > /dev/null ;;
    1x2) OMP_NUM_THREADS=2 "$bin" "$sub" --config "$config" --out "$work/$name" --log-level warn > /dev/null ;;
    2x1) port=$((port + 1))
         OMP_NUM_THREADS=1 torchrun --no_python --nproc_per_node 2 --master_port "$port" --redirects 2 --tee 2 \
           --log_dir "$work/log_$name" "$bin" "$sub" --config "$config" --out "$work/$name" --log-level warn \
           > /dev/null 2>&1 ;;
  esac
  t1=$(date +%s.%N)
  /usr/bin/python3 -c "print($t1 - $t0)"
}

declare -A fp tr
for mode in 1x1 1x2 2x1; do fp[$mode]=$(run "fp_$mode" "$mode" fp-data "$work/fp.json"); done
for mode in 1x1 1x2 2x1; do tr[$mode]=$(run "train_$mode" "$mode" train "$work/train.json"); done
for mode in 1x1 1x2 2x1; do run "flow_$mode" "$mode" train-flow "$work/flow.json" > /dev/null; done

/usr/bin/python3 - "$work" "$nconf" "$steps" "$out" "${fp[1x1]}" "${fp[1x2]}" "${fp[2x1]}" <<'PY'
import json, sys
work, nconf, steps, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fp_wall = dict(zip(["1x1", "1x2", "2x1"], map(float, sys.argv[5:8])))
result = {"machine_cores": 2, "fp_data": {"configurations": nconf, "lattice": "SU(3) 2^4 -> 4^4"},
          "train_fp_action": {"steps": steps, "batch_size": 4}}
print(f"fp-data, {nconf} SU(3) configurations 2^4 -> 4^4 (wall clock incl. start-up):")
for mode, wall in fp_wall.items():
    result["fp_data"][mode] = {"wall_seconds": wall, "configurations_per_s": nconf / wall}
    print(f"  {mode} (processes x threads)  {wall:7.2f} s  {nconf / wall:6.3f} configurations/s  "
          f"speed-up {fp_wall['1x1'] / wall:.2f}")
def steps_table(key, measure):
    """One training benchmark: measure(mode) -> (loop seconds, bytes rank 0 sent, parameters)."""
    base = None
    for mode in ["1x1", "1x2", "2x1"]:
        seconds, sent, params = measure(mode)
        base = base or seconds
        result[key][mode] = {"loop_seconds": seconds, "steps_per_s": steps / seconds, "bytes_sent_by_rank_0": sent,
                             "bytes_per_step": sent / steps, "parameters": params}
        print(f"  {mode}  {steps / seconds:7.3f} steps/s  speed-up {base / seconds:.2f}  "
              f"rank 0 sent {sent / steps / 1024:.1f} KiB/step ({params} parameters)")


def train_measure(mode):
    lines = [json.loads(l) for l in open(f"{work}/train_{mode}/model/metrics.jsonl")]
    m = json.load(open(f"{work}/train_{mode}/metrics.json"))
    return lines[-1]["seconds"], m["distributed"]["bytes_sent_by_rank_0"], m["n_parameters"]


def flow_measure(mode):
    m = json.load(open(f"{work}/flow_{mode}/metrics.json"))
    return m["training"]["seconds"], m["distributed"]["bytes_sent_by_rank_0_training"], m["n_parameters"]


print(f"train fp_action, {steps} steps of batch 4 (training loop only):")
steps_table("train_fp_action", train_measure)
print(f"train-flow, {steps} steps of batch 64, phi^4 4x4 -> 16x16 (training loop incl. the bank draw):")
result["train_flow"] = {"steps": steps, "batch_size": 64, "lattice": "4x4 -> 16x16"}
steps_table("train_flow", flow_measure)
json.dump(result, open(out, "w"), indent=2)
print(f"written to {out}")
PY
