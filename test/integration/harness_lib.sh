# Shared by the end-to-end harnesses (run_e2e.sh, run_faults.sh); sourced, not run.
# The caller sets `harness_name`, `root` and `work` (its scratch folder), appends every process it
# starts to `harness_pids`, and calls `trap harness_cleanup EXIT`; it runs its test binaries with
# harness_run_test and ends with harness_finish.

harness_pids=()
harness_failed=()
harness_skipped=()

# The exit code that tells ctest the harness skipped a test (the tests' SKIP_RETURN_CODE in
# test/integration/CMakeLists.txt): a skipped check must be reported as skipped, never as passed.
harness_skip_code=77

# Stops what the harness started (its processes, newest first, then the mesh stack in $work); keeps $work and
# prints the tail of every log when the run failed.
harness_cleanup() {
  local rc=$? i log
  for ((i = ${#harness_pids[@]} - 1; i >= 0; i--)); do  # the last started stops first
    { kill "${harness_pids[i]}" && wait "${harness_pids[i]}"; } 2>/dev/null || true
  done
  "$root/tools/mesh-stack.sh" stop "$work" >/dev/null 2>&1 || true
  if [[ $rc -ne 0 && $rc -ne $harness_skip_code ]]; then
    echo "$harness_name: failed (exit $rc); logs kept in $work" >&2
    for log in "$work"/*.log; do
      [[ -f "$log" ]] && { echo "--- tail of $log" >&2; tail -n 20 "$log" >&2; }
    done
  else
    rm -rf "$work"
  fi
  exit $rc
}

# Ports below the kernel's ephemeral range (32768 and up), so an outgoing connection's local port
# cannot take the chosen port between the check and the bind; any socket on it counts as in use.
free_port() {
  local p
  for p in $(shuf -i 20000-32000 -n 100); do
    if ! ss -Htan "sport = :$p" | grep -q .; then echo "$p"; return 0; fi
  done
  echo "$harness_name: no free port found" >&2
  return 1
}

# Pod addresses of the run's own, so that another stack on this machine (the demo, a second run)
# does not collide with it.
random_address_base() {
  echo "127.$((20 + RANDOM % 200)).$((RANDOM % 250)).1"
}

# Runs one test binary with the given arguments and notes whether it failed or skipped a test
# (GoogleTest exits 0 when tests skip, so its output is kept in $work and read for that).
harness_run_test() {
  local bin=$1 name rc=0
  shift
  name=$(basename "$bin")
  echo "$harness_name: running $name"
  "$bin" "$@" | tee "$work/$name.out" || rc=$?
  if ((rc != 0)); then
    harness_failed+=("$name")
  elif grep -q '^\[  SKIPPED \]' "$work/$name.out"; then
    harness_skipped+=("$name")
  fi
}

# Exits with the run's result: 1 if a binary failed, harness_skip_code if none failed but one
# skipped a test, 0 when every test ran and passed.
harness_finish() {
  if ((${#harness_failed[@]})); then
    echo "$harness_name: failed: ${harness_failed[*]}" >&2
    exit 1
  fi
  if ((${#harness_skipped[@]})); then
    echo "$harness_name: skipped tests in: ${harness_skipped[*]} (reported as skipped)" >&2
    grep -h '^\[  SKIPPED \]' "$work"/*.out >&2 || true
    exit "$harness_skip_code"
  fi
  exit 0
}

# The first sample value of an instant query to the Prometheus at $1, or nothing (no sample, or no
# answer).
prometheus_value() {
  curl -fsS --max-time 2 --get --data-urlencode "query=$2" "$1/api/v1/query" 2>/dev/null |
    sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p' | head -n1 || true
}
