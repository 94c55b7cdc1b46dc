#!/usr/bin/env bash
# The `format` test: every C++ source and header of the project is formatted as .clang-format says.
# Usage: check-format.sh CLANG_FORMAT SOURCE_DIR. Fix with: make format.
set -euo pipefail
clang_format=$1
cd "$2"
files=$(find support lattice lcnn flows io run apps tests -name '*.cpp' -o -name '*.h' | sort)
bad=()
for f in $files; do
  "$clang_format" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -ne 0 ]; then
  echo "not clang-formatted (run 'make format'): ${bad[*]}" >&2
  exit 1
fi
echo "$(echo "$files" | wc -l) files formatted"
