#!/usr/bin/env bash
# Configures the fuzz tree: clang, every library under ASan and UBSan, and the libFuzzer targets of
# test/fuzz/ (CMakeLists.txt, SMI_BUILD_FUZZ). scripts/test.sh and bench/fuzz.sh both use it, so
# that they share one tree without reconfiguring (and rebuilding) it for each other.
#
#   scripts/configure-fuzz.sh BUILD_DIR
#
# BUILD_TYPE (Release).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cmake -S "$root" -B "$1" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  -DCMAKE_CXX_COMPILER=clang++ -DSMI_BUILD_TESTS=ON -DSMI_BUILD_FUZZ=ON >/dev/null
