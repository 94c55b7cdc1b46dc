#!/usr/bin/env bash
# Packs the Debian build dependencies that the GPU machine's image lacks into .gpudeps/ (git-ignored, ~25 MB), so that
# benchmarks/gpu_check.sh can build there against the wheel's CUDA LibTorch: headers and CMake package files of
# nlohmann-json, CLI11, spdlog, fmt, GoogleTest, Google Benchmark and zlib, the serial HDF5 C/C++ headers and
# libraries, and the shared libraries these need at run time (glibc, libstdc++ and libgcc_s excepted: the GPU
# machine's own are used). Run here (Debian, packages installed by the README's commands); carry .gpudeps with the
# device run. gpu_check.sh picks .gpudeps up when it exists (cmake_args: the -D options naming each package).
#   benchmarks/gpu_deps.sh [DEST=.gpudeps]
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${DEST:-.gpudeps}
rm -rf "$DEST"
mkdir -p "$DEST/usr" "$DEST/lib" "$DEST/hdf5/include" "$DEST/hdf5/lib" "$DEST/fallback-include"
grep -qx "/$DEST/" .git/info/exclude 2> /dev/null || { mkdir -p .git/info && echo "/$DEST/" >> .git/info/exclude; }

# Package files under /usr (docs excepted), paths kept so that the packages' CMake files find their imported targets.
for pkg in nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libgtest-dev libbenchmark-dev zlib1g-dev; do
  dpkg -L "$pkg" | grep -E '^/usr/(include|lib|share/cmake)/' | while read -r f; do
    if [ -f "$f" ]; then
      mkdir -p "$DEST$(dirname "$f")"
      cp -L "$f" "$DEST$f"
      if [ -L "$f" ] && [[ $f == *.so ]]; then  # the real file and its soname too (imported locations, run time)
        real=$(readlink -f "$f")
        cp "$real" "$DEST$(dirname "$f")/$(basename "$real")"
        cp "$real" "$DEST$(dirname "$f")/$(objdump -p "$real" | awk '/SONAME/ {print $2}')"
      fi
    fi
  done
done
# Gloo's headers as a fallback only (CPLUS_INCLUDE_PATH: after the wheel's own include directories).
cp -rL /usr/include/gloo "$DEST/fallback-include/"

# Serial HDF5 as a plain prefix for FindHDF5 (HDF5_ROOT): include/ and lib/libhdf5{,_cpp}.so.
cp -rL /usr/include/hdf5/serial/. "$DEST/hdf5/include/"
for lib in libhdf5_serial libhdf5_serial_cpp; do
  so=$(readlink -f "/usr/lib/x86_64-linux-gnu/$lib.so")
  soname=$(objdump -p "$so" | awk '/SONAME/ {print $2}')
  cp "$so" "$DEST/hdf5/lib/$soname"
  cp "$so" "$DEST/hdf5/lib/${lib/_serial/}.so"
done

# Run-time closure of the compiled libraries, less the C and C++ runtimes.
ldd /usr/lib/x86_64-linux-gnu/libhdf5_serial_cpp.so /usr/lib/x86_64-linux-gnu/libspdlog.so \
  /usr/lib/x86_64-linux-gnu/libbenchmark.so /usr/lib/x86_64-linux-gnu/libz.so | awk '$3 ~ /^\// {print $3}' |
  sort -u | grep -v -E '/(libc|libm|libdl|libpthread|librt|libresolv|libgcc_s|libstdc\+\+|ld-linux[^/]*)\.so' |
  while read -r so; do cp -L "$so" "$DEST/lib/"; done

# Debian's C++ runtime, used there only where the image's libstdc++ is older (gpu_check.sh decides).
mkdir -p "$DEST/cxx"
cp -L /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /lib/x86_64-linux-gnu/libgcc_s.so.1 "$DEST/cxx/"

# The -D options for gpu_check.sh, relative to $DEST (it prefixes the absolute path there).
{
  echo "-Dnlohmann_json_DIR=usr/share/cmake/nlohmann_json"
  echo "-DCLI11_DIR=usr/share/cmake/CLI11"
  for p in spdlog fmt GTest benchmark; do echo "-D${p}_DIR=usr/lib/x86_64-linux-gnu/cmake/$p"; done
  echo "-DZLIB_INCLUDE_DIR=usr/include"
  echo "-DZLIB_LIBRARY=usr/lib/x86_64-linux-gnu/libz.so"
  echo "-DHDF5_ROOT=hdf5"
} > "$DEST/cmake_args"
du -sh "$DEST"
