#!/usr/bin/env bash
# Fuzzing run (not a test): every libFuzzer target of test/fuzz/ for a long run, then a Markdown
# table of what each did. ctest runs the same targets for 5 seconds each (fuzz.<target>).
#
#   bench/fuzz.sh [BUILD_DIR] [LIMIT] [TARGET...]
#
#   BUILD_DIR  the fuzz tree, configured by scripts/configure-fuzz.sh (default: build-fuzz)
#   LIMIT      executions per target (default 10000000), or a time per target such as 300s
#   TARGET     names as in test/fuzz/ (selectors, api_handler, ...); default: all of them
#
# Each target starts from its committed corpus plus what earlier runs in BUILD_DIR found
# (BUILD_DIR/fuzz-work/<target>); crashing inputs are written to BUILD_DIR/fuzz-artifacts/. The
# table's coverage is libFuzzer's own count of covered edges (cov) and features (ft) at the end.
# Exits non-zero when a target crashed. JOBS: parallel build jobs (default 2).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-fuzz}
limit=${2:-10000000}
shift $(($# > 2 ? 2 : $#))
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in "$root"/test/fuzz/*_fuzz.cpp; do
    name=$(basename "$f" _fuzz.cpp)
    targets+=("$name")
  done
fi
case $limit in
  *s) limit_flag=-max_total_time=${limit%s} ;;
  *) limit_flag=-runs=$limit ;;
esac

"$root/scripts/configure-fuzz.sh" "$build"
cmake --build "$build" -j"${JOBS:-2}" --target "${targets[@]/#/fuzz_}" >&2
build=$(cd "$build" && pwd)
mkdir -p "$build/fuzz-work" "$build/fuzz-artifacts"

# The value of libFuzzer's final `stat::<name>: <value>` line.
stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

rows=()
failed=0
for t in "${targets[@]}"; do
  work=$build/fuzz-work/$t
  log=$build/fuzz-work/$t.log
  mkdir -p "$work"
  cp -R "$root/test/fuzz/corpus/$t"/. "$work"/
  echo "fuzz.sh: $t ($limit_flag)" >&2
  rc=0
  "$build/test/fuzz/fuzz_$t" "$limit_flag" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$t-" "$work" >"$log" 2>&1 || rc=$?
  execs=$(stat number_of_executed_units "$log")
  per_sec=$(stat average_exec_per_sec "$log")
  # The last status line ("#N  DONE  cov: C ft: F corp: ...", or the last before a crash).
  status=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
  corpus=$(find "$work" -type f | wc -l)
  crashes=0
  if [[ $rc -ne 0 ]]; then
    crashes=$(grep -c 'Test unit written to' "$log" || true)
    [[ $crashes -eq 0 ]] && crashes=1
    failed=1
    echo "fuzz.sh: $t failed (exit $rc); see $log" >&2
    grep -E 'ERROR|invariant|Test unit written|SUMMARY' "$log" >&2 || true
  fi
  rows+=("| $t | ${execs:-?} | ${per_sec:-?} | ${cov:-?} | ${ft:-?} | $corpus | $crashes |")
done

echo "| target | executions | exec/s | cov (edges) | ft (features) | corpus | crashes |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
exit $failed
