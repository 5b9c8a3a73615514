#!/usr/bin/env bash
# Benchmark (not a test): mixed gets, lists and edges at 64 keep-alive connections for a long
# run, sampling the server's resident memory and open descriptors every 10 s. Goal: 0 errors,
# and both flat (within 5%) after the warm-up.
#
#   bench/soak.sh [BUILD_DIR] [SECONDS]    (default: build-bench, 600)
#
# CONNECTIONS (default 64) connections from loadgen on LOADGEN_THREADS threads (default 1), each
# request allowed 10 s. The warm-up is the first WARMUP seconds (default: a fifth of the run, at
# most 60). See bench_lib.sh for SMI_SERVER and SERVER_ARGS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_name=soak
# shellcheck source=bench_lib.sh
source "$root/bench/bench_lib.sh"
seconds=${2:-600}
connections=${CONNECTIONS:-64}
threads=${LOADGEN_THREADS:-1}
warmup=${WARMUP:-$((seconds / 5 < 60 ? seconds / 5 : 60))}
period=10

bench_build "${1:-$root/build-bench}" smi-metrics-server meshsim loadgen
bench_start_stack
bench_start_server

b=/apis/metrics.smi-spec.io/v1alpha1
n=$b/namespaces
# shellcheck disable=SC2034 # read by bench_loadgen through its name
paths=(
  "$n/emojivoto/deployments/web"           # get
  "$n/emojivoto/pods"                      # list
  "$n/emojivoto/deployments/web/edges"     # edges
  "$n/emojivoto/deployments/voting"        # get
  "$n/emojivoto/deployments"               # list
  "$n/emojivoto/pods?labelSelector=app%3Dweb" # list with a selector
  "$b/pods"                                # list across namespaces
  "$n/emojivoto/deployments/emoji/edges"   # edges
  "$b/namespaces/emojivoto"                # get of a namespace
)
for p in "${paths[@]}"; do bench_get "$p" /dev/null; done

echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $connections keep-alive" \
  "connections, ${#paths[@]} paths in turn (gets, lists, edges), ${seconds}s; server" \
  "sampled every ${period}s, warm-up ${warmup}s" >&2
start=$(date +%s.%N)
bench_loadgen "$work/soak.kv" "$server_port" "$work/ca.crt" paths --connections "$connections" \
  --threads "$threads" --duration "$seconds" --timeout 10 --interval "$period" \
  2>"$work/intervals" &
loadgen_pid=$!
bench_pids+=("$loadgen_pid")
# Samples at whole periods after loadgen started, the same marks as its intervals.
: >"$work/samples"
for ((k = 1; k * period <= seconds; k++)); do
  wait_s=$(awk -v s="$start" -v k="$k" -v p="$period" -v now="$(date +%s.%N)" \
    'BEGIN { w = s + k * p - now; print (w > 0 ? w : 0) }')
  sleep "$wait_s"
  kill -0 "$server_pid" 2>/dev/null || { echo "soak: the server exited" >&2; exit 1; }
  echo "$((k * period)) $(rss_kib "$server_pid") $(open_fds "$server_pid")" >>"$work/samples"
done
wait "$loadgen_pid" || { echo "soak: loadgen failed" >&2; exit 1; }

echo
printf '| %6s | %8s | %5s | %9s | %6s |\n' 't (s)' 'RSS MiB' fds requests errors
bench_rule 6 8 5 9 6
# loadgen's interval lines, "interval t=10 requests=N errors=E rps=R", one per period in order,
# beside the samples taken at the same marks.
grep '^interval ' "$work/intervals" | sed 's/[a-z]*=//g' | awk '{ print $3, $4 }' >"$work/counts" || true
awk 'FILENAME == ARGV[1] { count[FNR] = $0; next }
  { split(count[FNR] ? count[FNR] : "- -", c, " ")
    printf "| %6s | %8.1f | %5s | %9s | %6s |\n", $1, $2 / 1024, $3, c[1], c[2] }' \
  "$work/counts" "$work/samples"
echo
k=$work/soak.kv
echo "loadgen: $(kv "$k" answered) answered, $(kv "$k" rps) 2xx/s, $(kv "$k" errors) errors" \
  "(status $(kv "$k" status_errors), refused $(kv "$k" connect_errors), timeouts $(kv "$k" timeouts)," \
  "connection $(kv "$k" io_errors)), $(kv "$k" unfinished) in flight when time was up;" \
  "latency ms p50 $(kv "$k" p50_ms) p99 $(kv "$k" p99_ms) max $(kv "$k" max_ms);" \
  "$(kv "$k" connects) connects"
for ((i = 0; i < ${#paths[@]}; i++)); do
  echo "  $(kv "$k" "path$i"): $(kv "$k" "path${i}_ok") 2xx, $(kv "$k" "path${i}_errors") errors," \
    "p99 $(kv "$k" "path${i}_p99_ms") ms"
done
# Flat: after the warm-up, the largest sample within 5% of the smallest.
flat() {
  awk -v col="$1" -v w="$warmup" '$1 > w { v = $col; if (n == 0 || v < lo) lo = v; if (n == 0 || v > hi) hi = v; n++ }
    END { if (n < 2) { print "too few samples after the warm-up"; exit }
          spread = (hi - lo) / lo * 100
          printf "%s to %s (%.1f%%): %s\n", lo, hi, spread, (spread <= 5 ? "flat" : "NOT flat") }' "$work/samples"
}
echo "RSS KiB after the warm-up: $(flat 2)"
echo "open fds after the warm-up: $(flat 3)"
errors=$(kv "$k" errors)
if ((errors == 0)); then echo "errors: 0"; else echo "errors: $errors (goal 0): NOT met"; fi
