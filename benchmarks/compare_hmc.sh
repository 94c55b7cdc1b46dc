#!/usr/bin/env bash
# Side by side in one run: HMC trajectories/s on 8^4 SU(3) (Wilson β = 6, τ = 1, leapfrog 20 steps, double, batch 1)
# of blockspin (bench_monte_carlo BM_HmcLeapfrog20, fused kernels and the torch path) and of the plain-PyTorch
# re-statement (hmc_plain_pytorch.py, Debian python3-torch), with the same intra-op thread count. Plain PyTorch runs
# twice: with glibc's default allocator (what a Python user gets) and with the heap settings blockspin programs start
# with (support/allocator.h, as MALLOC_* variables), so the comparison is also made allocator for allocator.
# Writes JSON to $OUT (default runs/bench/compare_hmc.json).
#   benchmarks/compare_hmc.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
out=${OUT:-runs/bench/compare_hmc.json}
mkdir -p "$(dirname "$out")"
export OMP_NUM_THREADS=$threads
tuned=(MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1099511627776 MALLOC_TOP_PAD_=67108864)  # as support/allocator.h (never trim)
cpp=$(build/bin/bench_monte_carlo --benchmark_filter='BM_HmcLeapfrog20' --benchmark_format=json 2>/dev/null)
py=$(/usr/bin/python3 benchmarks/hmc_plain_pytorch.py --n 3 --threads "$threads")
py_tuned=$(env "${tuned[@]}" /usr/bin/python3 benchmarks/hmc_plain_pytorch.py --n 3 --threads "$threads")
/usr/bin/python3 - "$cpp" "$py" "$py_tuned" "$threads" "$out" <<'PY'
import json, sys
cpp, py, py_tuned = (json.loads(a) for a in sys.argv[1:4])
threads, out = int(sys.argv[4]), sys.argv[5]
rate = {b["name"].split("/")[1]: b["updates/s"] for b in cpp["benchmarks"] if b["name"].startswith("BM_HmcLeapfrog20")}
fused, torch_path = rate["fused:1"], rate["fused:0"]
plain, plain_tuned = py["trajectories_per_s"], py_tuned["trajectories_per_s"]
result = {"fused_trajectories_per_s": fused, "torch_path_trajectories_per_s": torch_path,
          "plain_pytorch_trajectories_per_s": plain, "plain_pytorch_tuned_allocator_trajectories_per_s": plain_tuned,
          "ratio_fused_vs_plain_pytorch": fused / plain, "ratio_fused_vs_plain_pytorch_tuned_allocator": fused / plain_tuned,
          "ratio_torch_path_vs_plain_pytorch": torch_path / plain, "threads": threads, "blas": py["blas"]}
json.dump(result, open(out, "w"), indent=2)
print(f"HMC 8^4 SU(3), leapfrog 20, double, {threads} thread(s), BLAS {py['blas']}:")
print(f"  blockspin kernels=fused  {fused:.3f} trajectories/s  ({fused / plain:.2f}x plain PyTorch, "
      f"{fused / plain_tuned:.2f}x with the same allocator settings)")
print(f"  blockspin kernels=torch  {torch_path:.3f} trajectories/s  ({torch_path / plain:.2f}x plain PyTorch)")
print(f"  plain PyTorch            {plain:.3f} trajectories/s (default allocator), {plain_tuned:.3f} (tuned)")
PY
