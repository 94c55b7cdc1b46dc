#!/usr/bin/env bash
# Physics acceptance runs of the gauge Monte Carlo (long: ~1 h on 2 CPU cores). Results go to runs/acceptance/*,
# then acceptance/check_acceptance.py compares them with exact (2D) and published (4D) values.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BLOCKSPIN:-build/bin/blockspin}
OUT=${OUT:-runs/acceptance}
run() { local name=$1; shift; echo "== $name"; "$B" generate --out "$OUT/$name" --force "$@" | tail -2; }
for beta in 1.0 2.0 4.0; do run su2_2d_hb_b$beta --config configs/acceptance/su2_2d_heatbath.json --set action.beta=$beta; done
run su2_2d_hmc_b2.0 --config configs/acceptance/su2_2d_hmc.json
for beta in 2.0 4.0 8.0; do run su3_2d_hb_b$beta --config configs/acceptance/su3_2d_heatbath.json --set action.beta=$beta; done
for beta in 5.7 6.0; do run su3_4d_hb_b$beta --config configs/acceptance/su3_4d_heatbath.json --set action.beta=$beta; done
run su3_4d_hmc_b5.7 --config configs/acceptance/su3_4d_hmc.json
python3 acceptance/check_acceptance.py "$OUT"
