#!/usr/bin/env bash
# The GPU check (issue 22): one prepared script for the rare GPU machine (one H100/H200, 16 cores, PyTorch 2.x + CUDA).
# Builds against the CUDA LibTorch inside the PyTorch wheel, runs the device-agnostic unit tests (lattice, lcnn,
# flows) on the GPU, then the device benchmarks (tests/bench/bench_device.cpp: HMC and heatbath 8^4/16^4, the FP
# minimiser, the FP L-CNN training step, the flow training step 4->32/4->64; float and double), then the remaining unit
# tests while time is left.
# Writes $OUT/gpu_check.json and $OUT/gpu_check.txt (a short table) and stops cleanly at its own time limit, keeping
# what it measured.
#
#   benchmarks/gpu_check.sh                                     # GPU machine: DEVICE=cuda, LIMIT_S=480, BUILD=build-gpu
#   DEVICE=cpu REDUCED=1 BUILD=build OUT=/tmp/x benchmarks/gpu_check.sh   # CPU, reduced sizes, existing build (ctest)
#
# Environment: DEVICE (cuda | cpu), LIMIT_S (own time limit, seconds), BUILD (build directory), JOBS (build jobs, 16),
# REDUCED=1 (small sizes, a subset of the tests, no build: the CPU run that keeps this script from rotting), OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}
REDUCED=${REDUCED:-0}
LIMIT_S=${LIMIT_S:-480}
BUILD=${BUILD:-build-gpu}
JOBS=${JOBS:-16}
OUT=${OUT:-runs/gpu_check}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
start=$(date +%s)
steps="$OUT/steps.jsonl"
: > "$steps"

left() { echo $((LIMIT_S - ($(date +%s) - start))); }

# step NAME MAX_SECONDS COMMAND...: runs COMMAND (output in $OUT/NAME.log) for at most min(MAX_SECONDS, time left - 15 s)
# and records {name, status, seconds}; status 124 = stopped at the time limit; a step with no time left is skipped.
step() {
  local name=$1 max=$2
  shift 2
  local budget
  budget=$(left)
  budget=$((budget - 15))
  [ "$budget" -gt "$max" ] && budget=$max
  if [ "$budget" -lt 5 ]; then
    echo "{\"name\": \"$name\", \"status\": \"skipped (time limit)\", \"seconds\": 0}" >> "$steps"
    echo "gpu_check: $name skipped (time limit)"
    return 0
  fi
  local t0 rc
  t0=$(date +%s)
  echo "gpu_check: $name (at most ${budget} s)"
  timeout --signal=TERM --kill-after=5 "$budget" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  echo "{\"name\": \"$name\", \"status\": $rc, \"seconds\": $(($(date +%s) - t0))}" >> "$steps"
  echo "gpu_check: $name -> status $rc in $(($(date +%s) - t0)) s"
  return 0
}

# 1. Build (not in the reduced mode: it uses the existing build).
if [ "$REDUCED" != 1 ]; then
  prefix=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  nccl=OFF
  [ "$DEVICE" != cpu ] && nccl=ON
  step configure 120 cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
    -DBLOCKSPIN_WITH_NCCL=$nccl
  step build 300 cmake --build "$BUILD" -j"$JOBS" --target test_lattice bench_device blockspin test_lcnn test_flows \
    test_run test_io
fi
bin="$BUILD/bin"

# 2. The device-agnostic unit tests on the device (JUnit XML for the counts).
export BLOCKSPIN_TEST_DEVICE=$DEVICE BLOCKSPIN_BENCH_DEVICE=$DEVICE
if [ "$REDUCED" = 1 ]; then
  step tests_device 120 "$bin/test_lattice" --gtest_output="xml:$OUT/tests_device.xml" \
    --gtest_filter='GaugeActionExact.*:DerivativesExact.*:Hmc.*:Heatbath.*:SuNConventions.*:Geometries/GaugeActionGeometry.*'
else
  step tests_device 150 "$bin/test_lattice" --gtest_output="xml:$OUT/tests_device.xml"
  step tests_lcnn 90 "$bin/test_lcnn" --gtest_output="xml:$OUT/tests_lcnn.xml"
  step tests_flows 90 "$bin/test_flows" --gtest_output="xml:$OUT/tests_flows.xml"
fi

# 3. Benchmarks on the device, float and double.
if [ "$REDUCED" = 1 ]; then
  export BLOCKSPIN_BENCH_REDUCED=1
  step bench 120 "$bin/bench_device" --benchmark_filter='L:8/|L:4/|levels:3' --benchmark_format=json \
    --benchmark_out="$OUT/bench.json" --benchmark_out_format=json
else
  step bench 200 "$bin/bench_device" --benchmark_format=json --benchmark_out="$OUT/bench.json" \
    --benchmark_out_format=json
fi

# 4. The other suites while time is left (they pick up the device where their fixtures do).
if [ "$REDUCED" != 1 ]; then
  for suite in test_run test_io; do
    step "$suite" 120 "$bin/$suite" --gtest_output="xml:$OUT/$suite.xml"
  done
fi

# 5. The report: gpu_check.json and gpu_check.txt.
"$PYTHON" - "$OUT" "$DEVICE" "$REDUCED" "$LIMIT_S" "$(($(date +%s) - start))" <<'PY'
import glob, json, os, subprocess, sys
import xml.etree.ElementTree as ET
out, device, reduced, limit, elapsed = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), int(sys.argv[5])
report = {"device": device, "reduced": reduced, "time_limit_s": limit, "elapsed_s": elapsed,
          "steps": [json.loads(l) for l in open(os.path.join(out, "steps.jsonl"))]}
try:
    report["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                                   capture_output=True, text=True, timeout=20).stdout.strip()
except Exception:
    report["gpu"] = None
# Peak HBM bandwidth (bytes/s) by GPU name, for the roofline fractions.
hbm = {"H200": 4.8e12, "H100 SXM": 3.35e12, "H100 PCIe": 2.0e12, "H100": 3.35e12, "A100": 2.0e12}
peak = next((v for k, v in hbm.items() if report["gpu"] and k in report["gpu"]), None)
report["hbm_bytes_per_s"] = peak
tests = {}
for xml in sorted(glob.glob(os.path.join(out, "*.xml"))):
    root = ET.parse(xml).getroot()
    failed = [f"{c.get('classname')}.{c.get('name')}" for c in root.iter("testcase") if c.find("failure") is not None]
    tests[os.path.basename(xml)[:-4]] = {"tests": int(root.get("tests", 0)), "failures": int(root.get("failures", 0)),
                                         "errors": int(root.get("errors", 0)), "failed": failed[:50]}
report["tests"] = tests
bench = []
path = os.path.join(out, "bench.json")
if os.path.exists(path):
    try:
        data = json.load(open(path))
    except json.JSONDecodeError:  # stopped at the time limit mid-write
        data = {"benchmarks": []}
    for b in data.get("benchmarks", []):
        row = {"name": b["name"], "time": b.get("real_time"), "time_unit": b.get("time_unit")}
        row.update({k: v for k, v in b.items() if "/s" in k or k in ("sites",)})
        # HMC roofline, a lower bound on the bytes moved: per site and force evaluation at least three passes over a
        # link-sized field (read U for the staples, read and write the momentum P), each 4 links x 9 complex
        # numbers: 3 x 4 x 9 x (16 | 8) bytes (double | float); the U updates between force evaluations add more.
        if b["name"].startswith("BM_Hmc") and "site-force-evaluations/s" in b:
            dbl = "double:1" in b["name"]
            row["bytes_per_site_force_evaluation_lower_bound"] = 3 * 4 * 9 * (16 if dbl else 8)
            bw = b["site-force-evaluations/s"] * row["bytes_per_site_force_evaluation_lower_bound"]
            row["bytes_per_s_lower_bound"] = bw
            if peak:
                row["hbm_fraction_lower_bound"] = bw / peak
        bench.append(row)
report["benchmarks"] = bench
json.dump(report, open(os.path.join(out, "gpu_check.json"), "w"), indent=2)
lines = [f"GPU check on {device}{' (reduced)' if reduced else ''}: {report['gpu'] or 'no GPU'}, {elapsed} s of {limit} s"]
for s in report["steps"]:
    lines.append(f"  step {s['name']:<14} status {s['status']}  {s['seconds']} s")
for name, t in tests.items():
    lines.append(f"  {name:<14} {t['tests']} tests, {t['failures']} failures, {t['errors']} errors"
                 + (f": {', '.join(t['failed'][:5])}" if t["failed"] else ""))
for r in bench:
    rates = ", ".join(f"{k} {v:.4g}" for k, v in r.items() if k.endswith("/s"))
    frac = f", HBM >= {100 * r['hbm_fraction_lower_bound']:.1f}%" if "hbm_fraction_lower_bound" in r else ""
    lines.append(f"  {r['name']:<48} {r['time']:.4g} {r['time_unit']}  {rates}{frac}")
problems = [f"step {s['name']}: status {s['status']}" for s in report["steps"] if s["status"] != 0]
problems += [f"{n}: {t['failures'] + t['errors']} failing tests" for n, t in tests.items() if t["failures"] + t["errors"]]
if not bench:
    problems.append("no benchmark results")
report["problems"] = problems
json.dump(report, open(os.path.join(out, "gpu_check.json"), "w"), indent=2)
lines.append("problems: " + ("; ".join(problems) if problems else "none"))
open(os.path.join(out, "gpu_check.txt"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(1 if problems else 0)
PY
