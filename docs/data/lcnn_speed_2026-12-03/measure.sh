#!/usr/bin/env bash
# Quiet-machine measurements for the tenth session (run when nothing else runs).
set -uo pipefail
cd /work/main
export OMP_NUM_THREADS=1
ln -sfn /tmp/ub build
for r in 1 2; do
  for b in /tmp/bs_run/bench_lcnn_old /tmp/ub/bin/bench_lcnn; do
    echo "== $b round $r"
    taskset -c 1 $b --benchmark_filter='BM_LcnnTrainingStep/L:4/' 2>&1 | grep configs
  done
done
echo "== 8^4 fused, old and new"
for b in /tmp/bs_run/bench_lcnn_old /tmp/ub/bin/bench_lcnn; do
  taskset -c 1 $b --benchmark_filter='BM_LcnnTrainingStep/L:8/.*fused:1' 2>&1 | grep configs
done
echo "== channel products"
taskset -c 1 /tmp/ub/bin/bench_lcnn --benchmark_filter='BM_ChannelProducts' 2>&1 | grep BM_
for r in 1 2; do
  echo "== compare_lcnn round $r"
  OUT=runs/bench/compare_lcnn_$r.json taskset -c 1 bash benchmarks/compare_lcnn.sh 1 2>&1 | tail -9
done
echo "== learned HMC"
taskset -c 1 /tmp/ub/bin/bench_monte_carlo --benchmark_filter=Learned 2>&1 | grep BM_
rm -f build
