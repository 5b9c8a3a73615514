#!/usr/bin/env bash
# Builds everything and runs every test: unit tests, the end-to-end test against the mesh
# simulator, a real Prometheus and real kubectl, and every libFuzzer target of test/fuzz/ for a few
# seconds under ASan and UBSan. Installs what it needs first (Debian 12, root).
#
#   scripts/test.sh [ctest arguments]   e.g. -R e2e, or --repeat until-fail:3
#
# BUILD_DIR (default build/), FUZZ_BUILD_DIR (default BUILD_DIR-fuzz: the clang tree of the fuzz
# targets, the same one bench/fuzz.sh uses), BUILD_TYPE (Release), JOBS (2).
# SMI_TEST_FUZZ=0 leaves the fuzz targets out, as do ctest arguments that select none of them; the
# script then says they were skipped, and why.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${BUILD_DIR:-$root/build}"
fuzz_build="${FUZZ_BUILD_DIR:-$build-fuzz}"
fuzz=${SMI_TEST_FUZZ:-1}

"$root/scripts/setup.sh"

# The fuzz targets need clang and sanitized libraries: a second tree. It builds at the lowest
# priority from the start: during the main build it takes the moments a core waits (links, the
# last files of a library), and during the main suite the time its end-to-end tests spend waiting
# for their windows to fill. The main build and suite keep the cores when they need them.
fuzz_build_pid=""
fuzz_skipped="SMI_TEST_FUZZ=0"
if [[ $fuzz != 0 ]]; then
  "$root/scripts/configure-fuzz.sh" "$fuzz_build"
  # ctest arguments that select no fuzz test (-R e2e) leave the tree unbuilt.
  if [[ $(cd "$fuzz_build" && ctest -N -L fuzz "$@" | sed -n 's/^Total Tests: //p') == 0 ]]; then
    fuzz=0
    fuzz_skipped="no fuzz test matches the arguments: $*"
  fi
fi
if [[ $fuzz != 0 ]]; then
  # A process group of its own (job control), so that stopping this script stops the whole build
  # (make and compilers). Not a session of its own: with the kernel's autogroups, two sessions
  # share the CPU equally whatever their nice values, and the build took half the cores.
  set -m
  nice -n 19 cmake --build "$fuzz_build" -j"${JOBS:-2}" --target fuzz_targets \
    >"$fuzz_build/fuzz-targets-build.log" 2>&1 &
  fuzz_build_pid=$!
  set +m
  trap '[[ -n $fuzz_build_pid ]] && kill -- "-$fuzz_build_pid" 2>/dev/null; true' EXIT
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" -DSMI_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j"${JOBS:-2}"

status=0
# Every test has its own temporary directory and ports, so they run in parallel; the end-to-end
# harnesses are RUN_SERIAL (each starts a whole stack) and run alone.
(cd "$build" && ctest --output-on-failure -j"$(nproc)" "$@") || status=$?

if [[ $fuzz == 0 ]]; then
  echo "test: SKIPPED the fuzz targets ($fuzz_skipped)"
  exit "$status"
fi
if ! wait "$fuzz_build_pid"; then
  fuzz_build_pid=""
  tail -n 40 "$fuzz_build/fuzz-targets-build.log" >&2
  echo "test: the fuzz targets did not build (clang, tree $fuzz_build); the log's end is above" >&2
  exit 1
fi
fuzz_build_pid=""
# Label fuzz: each target fuzzes for 5 seconds from a copy of its corpus (test/fuzz/CMakeLists.txt).
(cd "$fuzz_build" && ctest --output-on-failure -j"$(nproc)" -L fuzz "$@") || status=$?
exit "$status"
