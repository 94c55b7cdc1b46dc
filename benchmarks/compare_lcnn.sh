#!/usr/bin/env bash
# Side by side in one run: one training step (values + link derivatives, double backprop) of the FP papers' L-CNN on
# 4^4 SU(3), double and float, batch 1, 4 steps each after a warm-up: blockspin (bench_lcnn BM_LcnnTrainingStep; the
# fused path — real-weight GEMMs, channel-product and transport lane kernels — and the reference path) against the
# plain-PyTorch re-statement (lcnn_plain_pytorch.py), with glibc's default allocator and with blockspin's heap
# settings (support/allocator.h). Writes JSON to $OUT (default runs/bench/compare_lcnn.json).
#   benchmarks/compare_lcnn.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}
out=${OUT:-runs/bench/compare_lcnn.json}
mkdir -p "$(dirname "$out")"
export OMP_NUM_THREADS=$threads
tuned=(MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1099511627776 MALLOC_TOP_PAD_=67108864)  # as support/allocator.h (never trim)
cpp=$(build/bin/bench_lcnn --benchmark_filter='BM_LcnnTrainingStep/L:4/' --benchmark_format=json 2>/dev/null)
py=$(cd benchmarks && /usr/bin/python3 lcnn_plain_pytorch.py --n 4 --threads "$threads")
py_tuned=$(cd benchmarks && env "${tuned[@]}" /usr/bin/python3 lcnn_plain_pytorch.py --n 4 --threads "$threads")
py_float=$(cd benchmarks && /usr/bin/python3 lcnn_plain_pytorch.py --n 4 --threads "$threads" --float)
py_float_tuned=$(cd benchmarks && env "${tuned[@]}" /usr/bin/python3 lcnn_plain_pytorch.py --n 4 --threads "$threads" --float)
/usr/bin/python3 - "$cpp" "$py" "$py_tuned" "$py_float" "$py_float_tuned" "$threads" "$out" <<'PY'
import json, sys
cpp = json.loads(sys.argv[1])
plain = {"double": json.loads(sys.argv[2])["configs_per_s"], "float": json.loads(sys.argv[4])["configs_per_s"]}
tuned = {"double": json.loads(sys.argv[3])["configs_per_s"], "float": json.loads(sys.argv[5])["configs_per_s"]}
threads, out = int(sys.argv[6]), sys.argv[7]
rate = {}
for b in cpp["benchmarks"]:
    parts = dict(p.split(":") for p in b["name"].split("/")[1:] if ":" in p)
    rate[("double" if parts["double"] == "1" else "float", parts["fused"] == "1")] = b["configs/s"]
result = {"threads": threads}
print(f"L-CNN FP-model training step, 4^4 SU(3), {threads} thread(s), configurations/s:")
for dtype in ("double", "float"):
    real, ref = rate[(dtype, True)], rate[(dtype, False)]
    result[dtype] = {"blockspin_fused_configs_per_s": real, "blockspin_reference_configs_per_s": ref,
                     "plain_pytorch_configs_per_s": plain[dtype],
                     "plain_pytorch_tuned_allocator_configs_per_s": tuned[dtype],
                     "ratio_vs_plain_pytorch": real / plain[dtype],
                     "ratio_vs_plain_pytorch_tuned_allocator": real / tuned[dtype]}
    print(f" {dtype}:")
    print(f"  blockspin fused path         {real:.3f}  ({real / plain[dtype]:.2f}x plain PyTorch, "
          f"{real / tuned[dtype]:.2f}x with the same allocator settings)")
    print(f"  blockspin reference path     {ref:.3f}")
    print(f"  plain PyTorch                {plain[dtype]:.3f} (default allocator), {tuned[dtype]:.3f} (tuned)")
json.dump(result, open(out, "w"), indent=2)
PY
