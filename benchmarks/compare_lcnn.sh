#!/usr/bin/env bash
# Side by side in one run: one training step (values + link derivatives, double backprop) of the FP papers' L-CNN on
# 4^4 SU(3), double, batch 1: blockspin (bench_lcnn BM_LcnnTrainingStep; real-weight GEMMs and the complex reference)
# against the plain-PyTorch re-statement (lcnn_plain_pytorch.py), with glibc's default allocator and with blockspin's
# heap settings (support/allocator.h). Writes JSON to $OUT (default runs/bench/compare_lcnn.json).
#   benchmarks/compare_lcnn.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}
out=${OUT:-runs/bench/compare_lcnn.json}
mkdir -p "$(dirname "$out")"
export OMP_NUM_THREADS=$threads
tuned=(MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=67108864)
cpp=$(build/bin/bench_lcnn --benchmark_filter='BM_LcnnTrainingStep/L:4/double:1' --benchmark_format=json 2>/dev/null)
py=$(cd benchmarks && /usr/bin/python3 lcnn_plain_pytorch.py --n 3 --threads "$threads")
py_tuned=$(cd benchmarks && env "${tuned[@]}" /usr/bin/python3 lcnn_plain_pytorch.py --n 3 --threads "$threads")
/usr/bin/python3 - "$cpp" "$py" "$py_tuned" "$threads" "$out" <<'PY'
import json, sys
cpp, py, py_tuned = (json.loads(a) for a in sys.argv[1:4])
threads, out = int(sys.argv[4]), sys.argv[5]
rate = {b["name"].split("/")[3]: b["configs/s"] for b in cpp["benchmarks"]}
real, ref = rate["fused:1"], rate["fused:0"]
plain, plain_tuned = py["configs_per_s"], py_tuned["configs_per_s"]
result = {"blockspin_real_gemm_configs_per_s": real, "blockspin_complex_reference_configs_per_s": ref,
          "plain_pytorch_configs_per_s": plain, "plain_pytorch_tuned_allocator_configs_per_s": plain_tuned,
          "ratio_vs_plain_pytorch": real / plain, "ratio_vs_plain_pytorch_tuned_allocator": real / plain_tuned,
          "threads": threads}
json.dump(result, open(out, "w"), indent=2)
print(f"L-CNN FP-model training step, 4^4 SU(3), double, {threads} thread(s), configurations/s:")
print(f"  blockspin real-weight GEMMs  {real:.3f}  ({real / plain:.2f}x plain PyTorch, "
      f"{real / plain_tuned:.2f}x with the same allocator settings)")
print(f"  blockspin complex reference  {ref:.3f}")
print(f"  plain PyTorch                {plain:.3f} (default allocator), {plain_tuned:.3f} (tuned)")
PY
