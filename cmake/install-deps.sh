#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are missing (apt-get, when run as root), then makes sure the
# system BLAS behind LibTorch is OpenBLAS built with OpenMP.
#
# Why OpenMP OpenBLAS (measured on the 2-core CI machine size, docs/results.md "BLAS"): Debian's reference BLAS runs
# a 600x217x4608 double GEMM in 215 ms, OpenBLAS in 17 ms; but the pthread build of OpenBLAS oversubscribes with
# LibTorch's OpenMP pool (batched 3x3 complex products at 2 threads: 0.73 GFLOP/s against 10.0 with the OpenMP build).
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -ne 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi

# libblas.so.3, liblapack.so.3 and libopenblas.so.0 (LibTorch links all three) -> the OpenMP build of OpenBLAS.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
dir=/usr/lib/$arch/openblas-openmp
[ -d "$dir" ] || exit 0
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  current=$(readlink -f "/etc/alternatives/$lib-$arch" 2>/dev/null || true)
  case "$current" in
    "$dir"/*) ;;
    *)
      if [ "$(id -u)" -ne 0 ]; then
        echo "note: $lib is $current; the OpenMP OpenBLAS is faster here:" \
             "sudo update-alternatives --set $lib-$arch $dir/$lib" >&2
      else
        echo "selecting $dir/$lib for $lib (OpenMP OpenBLAS: no oversubscription with LibTorch's OpenMP threads)"
        update-alternatives --set "$lib-$arch" "$dir/$lib" >/dev/null
      fi
      ;;
  esac
done
