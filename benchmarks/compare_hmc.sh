#!/usr/bin/env bash
# Side by side in one run: HMC trajectories/s on 8^4 SU(3) (Wilson β = 6, τ = 1, leapfrog 20 steps, double, batch 1)
# of blockspin (bench_monte_carlo BM_HmcLeapfrog20) and of the plain-PyTorch re-statement (hmc_plain_pytorch.py,
# Debian python3-torch), with the same intra-op thread count. Writes JSON to $OUT (default runs/bench/compare_hmc.json).
#   benchmarks/compare_hmc.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
out=${OUT:-runs/bench/compare_hmc.json}
mkdir -p "$(dirname "$out")"
export OMP_NUM_THREADS=$threads
cpp=$(build/bin/bench_monte_carlo --benchmark_filter='BM_HmcLeapfrog20' --benchmark_format=json 2>/dev/null)
py=$(/usr/bin/python3 benchmarks/hmc_plain_pytorch.py --n 3 --threads "$threads")
/usr/bin/python3 - "$cpp" "$py" "$threads" "$out" <<'PY'
import json, sys
cpp, py, threads, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rate = {b["name"].split("/")[1]: b["updates/s"] for b in cpp["benchmarks"] if b["name"].startswith("BM_HmcLeapfrog20")}
fused, torch_path, plain = rate["fused:1"], rate["fused:0"], py["trajectories_per_s"]
result = {"fused_trajectories_per_s": fused, "torch_path_trajectories_per_s": torch_path,
          "plain_pytorch_trajectories_per_s": plain, "ratio_fused_vs_plain_pytorch": fused / plain,
          "ratio_torch_path_vs_plain_pytorch": torch_path / plain, "threads": threads, "blas": py["blas"]}
json.dump(result, open(out, "w"), indent=2)
print(f"HMC 8^4 SU(3), leapfrog 20, double, {threads} thread(s), BLAS {py['blas']}:")
print(f"  blockspin kernels=fused  {fused:.3f} trajectories/s  ({fused / plain:.2f}x plain PyTorch)")
print(f"  blockspin kernels=torch  {torch_path:.3f} trajectories/s  ({torch_path / plain:.2f}x plain PyTorch)")
print(f"  plain PyTorch            {plain:.3f} trajectories/s")
PY
