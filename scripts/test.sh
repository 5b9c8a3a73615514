#!/usr/bin/env bash
# Builds everything and runs every test: unit tests, and the end-to-end test against the mesh
# simulator, a real Prometheus and real kubectl. Installs what it needs first (Debian 12, root).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${BUILD_DIR:-$root/build}"

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" -DSMI_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j"${JOBS:-2}"
cd "$build"
# Every test has its own temporary directory and ports, so they run in parallel; the end-to-end
# harnesses are RUN_SERIAL (each starts a whole stack) and run alone.
ctest --output-on-failure -j"$(nproc)" "$@"
