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
# REDUCED=1 (small sizes, a subset of the tests, no build: the CPU run that keeps this script from rotting), OUT,
# TESTS / LATER_TESTS (test binaries run before / after the benchmarks, suite by suite), BENCH=0 (no benchmarks).
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}
REDUCED=${REDUCED:-0}
LIMIT_S=${LIMIT_S:-480}
BUILD=${BUILD:-build-gpu}
JOBS=${JOBS:-16}
OUT=${OUT:-runs/gpu_check}
TESTS=${TESTS:-test_lattice test_lcnn test_flows}
LATER_TESTS=${LATER_TESTS:-test_run test_io}
BENCH=${BENCH:-1}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
start=$(date +%s)
steps="$OUT/steps.jsonl"
: > "$steps"

left() { echo $((LIMIT_S - ($(date +%s) - start))); }
# budget MAX: seconds a command may run, min(MAX, time left - 15 s).
budget() {
  local b=$(($(left) - 15))
  [ "$b" -gt "$1" ] && b=$1
  echo "$b"
}

# step NAME MAX_SECONDS COMMAND...: runs COMMAND (output in $OUT/NAME.log) for at most min(MAX_SECONDS, time left - 15 s)
# and records {name, status, seconds}; status 124 = stopped at the time limit; a step with no time left is skipped.
step() {
  local name=$1 max=$2
  shift 2
  local secs
  secs=$(budget "$max")
  if [ "$secs" -lt 5 ]; then
    echo "{\"name\": \"$name\", \"status\": \"skipped (time limit)\", \"seconds\": 0}" >> "$steps"
    echo "gpu_check: $name skipped (time limit)"
    return 0
  fi
  local t0 rc
  t0=$(date +%s)
  echo "gpu_check: $name (at most ${secs} s)"
  timeout --signal=TERM --kill-after=5 "$secs" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  echo "{\"name\": \"$name\", \"status\": $rc, \"seconds\": $(($(date +%s) - t0))}" >> "$steps"
  echo "gpu_check: $name -> status $rc in $(($(date +%s) - t0)) s"
  return 0
}

# 0. What the machine is (for the report).
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  g++ --version | head -1
  cmake --version | head -1
  ldd --version | head -1
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  "$PYTHON" -c 'import os, torch; print("torch/include:", *sorted(os.listdir(os.path.join(os.path.dirname(torch.__file__), "include"))))'
  nproc
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

# 1. Build (not in the reduced mode: it uses the existing build).
if [ "$REDUCED" != 1 ]; then
  prefix=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  nccl=OFF
  [ "$DEVICE" != cpu ] && nccl=ON
  # Dependencies the machine's image lacks, packed here by benchmarks/gpu_deps.sh and carried along: the packages'
  # CMake files, serial HDF5, and an RPATH (DT_RPATH, so it also serves the libraries' own dependencies) to their
  # run-time libraries; Debian's libstdc++ only where the image's is older than the one they were built against.
  deps=()
  if [ -d .gpudeps ]; then
    d=$PWD/.gpudeps
    mapfile -t deps < <(sed "s|=|=$d/|" "$d/cmake_args")
    rpath="$d/lib;$d/hdf5/lib"
    libstdcxx=$(g++ -print-file-name=libstdc++.so.6)
    grep -q GLIBCXX_3.4.30 "$libstdcxx" || rpath="$rpath;$d/cxx"
    # No HDF5 compiler wrapper: FindHDF5 takes the packed files under HDF5_ROOT.
    deps+=(-DHDF5_NO_FIND_PACKAGE_CONFIG_FILE=ON -DHDF5_CXX_COMPILER_EXECUTABLE=/nonexistent
      -DHDF5_C_COMPILER_EXECUTABLE=/nonexistent "-DCMAKE_BUILD_RPATH=$rpath"
      -DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags -DCMAKE_SHARED_LINKER_FLAGS=-Wl,--disable-new-dtags)
    export CPLUS_INCLUDE_PATH=$d/fallback-include
  fi
  # Ninja where the machine has it; either way the build keeps going past a failing file, so that one run shows
  # every compile error (a first build against a new LibTorch).
  gen=() keep=(-k)
  command -v ninja > /dev/null && gen=(-G Ninja) keep=(-k 0)
  [ -d /usr/local/cuda/bin ] && export PATH=$PATH:/usr/local/cuda/bin
  step configure 120 cmake -S . -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
    -DBLOCKSPIN_WITH_NCCL=$nccl -DCMAKE_POLICY_VERSION_MINIMUM=3.5 "${deps[@]}"
  step build 300 cmake --build "$BUILD" -j"$JOBS" --target test_lattice bench_device blockspin test_lcnn test_flows \
    test_run test_io -- "${keep[@]}"
fi
bin="$BUILD/bin"

# suites NAME MAX_SECONDS BINARY: a test binary one gtest suite per process (JUnit XML per suite under $OUT/NAME/), so
# that a crash costs only its suite; a crashed suite is run once more under cuda-gdb (or gdb) for a backtraces log,
# $OUT/NAME.crash.<suite>.log. Records {name, status (0, or the last failing status), seconds, crashed} in steps.
suites() {
  local name=$1 max=$2 exe=$3 t0 rc=0 secs crashed=() dbg
  t0=$(date +%s)
  mkdir -p "$OUT/$name"
  dbg=$(command -v cuda-gdb || command -v gdb || true)
  echo "gpu_check: $name (suite by suite, at most ${max} s)"
  for s in $("$exe" --gtest_list_tests | awk '/^[^ ]/ {print $1}'); do
    secs=$(budget $((max - ($(date +%s) - t0))))
    if [ "$secs" -lt 5 ]; then
      rc=124
      break
    fi
    timeout --signal=TERM --kill-after=5 "$secs" "$exe" --gtest_filter="${s}*" \
      --gtest_output="xml:$OUT/$name/${s//\//_}xml" >> "$OUT/$name.log" 2>&1
    local r=$?
    [ "$r" -ne 0 ] && rc=$r
    if [ "$r" -ge 128 ] && [ "$r" -ne 137 ]; then
      crashed+=("$s")
      [ -n "$dbg" ] && timeout 60 "$dbg" -batch -ex run -ex bt --args "$exe" --gtest_filter="${s}*" \
        > "$OUT/$name.crash.${s//\//_}log" 2>&1
    fi
  done
  local list=""
  [ ${#crashed[@]} -gt 0 ] && list=$(printf '"%s", ' "${crashed[@]}")
  echo "{\"name\": \"$name\", \"status\": $rc, \"seconds\": $(($(date +%s) - t0)), \"crashed\": [${list%, }]}" >> "$steps"
  echo "gpu_check: $name -> status $rc in $(($(date +%s) - t0)) s${crashed:+, crashed: ${crashed[*]}}"
}

# 2. The device-agnostic unit tests on the device (JUnit XML for the counts).
export BLOCKSPIN_TEST_DEVICE=$DEVICE BLOCKSPIN_BENCH_DEVICE=$DEVICE
if [ "$REDUCED" = 1 ]; then
  step tests_device 120 "$bin/test_lattice" --gtest_output="xml:$OUT/tests_device.xml" \
    --gtest_filter='GaugeActionExact.*:DerivativesExact.*:Hmc.*:Heatbath.*:SuNConventions.*:Geometries/GaugeActionGeometry.*'
else
  for t in $TESTS; do suites "$t" 150 "$bin/$t"; done
fi

# 3. Benchmarks on the device, float and double.
if [ "$REDUCED" = 1 ]; then
  export BLOCKSPIN_BENCH_REDUCED=1
  step bench 120 "$bin/bench_device" --benchmark_filter='L:8/|L:4/|levels:3' --benchmark_format=json \
    --benchmark_out="$OUT/bench.json" --benchmark_out_format=json
elif [ "$BENCH" = 1 ]; then
  step bench 200 "$bin/bench_device" --benchmark_format=json --benchmark_out="$OUT/bench.json" \
    --benchmark_out_format=json
fi

# 4. The other suites while time is left (they pick up the device where their fixtures do).
if [ "$REDUCED" != 1 ]; then
  for t in $LATER_TESTS; do suites "$t" 120 "$bin/$t"; done
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
# One XML per binary ($OUT/NAME.xml, the reduced run) or per suite ($OUT/NAME/*.xml); skipped tests counted apart.
groups = {os.path.basename(x)[:-4]: [x] for x in glob.glob(os.path.join(out, "*.xml"))}
groups.update({os.path.basename(d): sorted(glob.glob(os.path.join(d, "*.xml")))
               for d in glob.glob(os.path.join(out, "*")) if os.path.isdir(d)})
crashed = {s["name"]: s.get("crashed", []) for s in report["steps"]}
for name, xmls in sorted(groups.items()):
    t = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "failed": [], "crashed": crashed.get(name, [])}
    for xml in xmls:
        try:
            root = ET.parse(xml).getroot()
        except ET.ParseError:  # a suite that crashed mid-write
            continue
        for c in root.iter("testcase"):
            t["tests"] += 1
            if c.find("failure") is not None:
                t["failures"] += 1
                t["failed"].append(f"{c.get('classname')}.{c.get('name')}")
            elif c.find("skipped") is not None or c.get("result") == "skipped":
                t["skipped"] += 1
    t["errors"] = len(t["crashed"])
    t["failed"] = t["failed"][:50]
    tests[name] = t
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
    lines.append(f"  {name:<14} {t['tests']} tests, {t['failures']} failures, {t['skipped']} skipped, "
                 f"{t['errors']} crashed suites" + (f": {', '.join(t['failed'][:8])}" if t["failed"] else "")
                 + (f"; crashed: {', '.join(t['crashed'])}" if t["crashed"] else ""))
for r in bench:
    rates = ", ".join(f"{k} {v:.4g}" for k, v in r.items() if k.endswith("/s"))
    frac = f", HBM >= {100 * r['hbm_fraction_lower_bound']:.1f}%" if "hbm_fraction_lower_bound" in r else ""
    lines.append(f"  {r['name']:<48} {r['time']:.4g} {r['time_unit']}  {rates}{frac}")
problems = [f"step {s['name']}: status {s['status']}" for s in report["steps"] if s["status"] != 0]
problems += [f"{n}: {t['failures']} failing tests, {t['errors']} crashed suites" for n, t in tests.items()
             if t["failures"] + t["errors"]]
if not bench:
    problems.append("no benchmark results")
report["problems"] = problems
json.dump(report, open(os.path.join(out, "gpu_check.json"), "w"), indent=2)
lines.append("problems: " + ("; ".join(problems) if problems else "none"))
open(os.path.join(out, "gpu_check.txt"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(1 if problems else 0)
PY
