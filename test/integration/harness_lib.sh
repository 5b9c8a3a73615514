# Shared by the end-to-end harnesses (run_e2e.sh, run_faults.sh); sourced, not run.
# The caller sets `harness_name`, `root` and `work` (its scratch folder), appends every process it
# starts to `harness_pids`, and calls `trap harness_cleanup EXIT`.

harness_pids=()

# Stops what the harness started (its processes, newest first, then the mesh stack in $work); keeps $work and
# prints the tail of every log when the run failed.
harness_cleanup() {
  local rc=$? i log
  for ((i = ${#harness_pids[@]} - 1; i >= 0; i--)); do  # the last started stops first
    { kill "${harness_pids[i]}" && wait "${harness_pids[i]}"; } 2>/dev/null || true
  done
  "$root/tools/mesh-stack.sh" stop "$work" >/dev/null 2>&1 || true
  if [[ $rc -ne 0 ]]; then
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
