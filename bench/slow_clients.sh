#!/usr/bin/env bash
# Benchmark (not a test): a well-behaved client's latency while slow clients hold connections:
# TRICKLE connections trickling a never-ending header at one byte per second and IDLE
# connections idle on keep-alive after one request. Goal: its p99 under 50 ms and nothing refused.
#
#   bench/slow_clients.sh [BUILD_DIR] [TRICKLE] [IDLE] [SECONDS]
#                         (default: build-bench, 1000, 5000, 20 s of measurement)
#
# The well-behaved client: CONNECTIONS keep-alive connections (default 2) making RATE requests/s
# in all (default 50), gets of one deployment, each allowed 5 s (a stalled server shows up as
# timeouts and unanswered requests, and the run still ends). The slow connections are opened
# first, for at most RAMP seconds (default 60). The same is measured without slow clients first,
# and against nginx serving the same bytes unless NGINX=0. See bench_lib.sh for SMI_SERVER and
# SERVER_ARGS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_name=slow_clients
# shellcheck source=bench_lib.sh
source "$root/bench/bench_lib.sh"
trickle=${2:-1000}
idle=${3:-5000}
seconds=${4:-20}
ramp=${RAMP:-60}
rate=${RATE:-50}
connections=${CONNECTIONS:-2}

# Descriptors for every slow connection, in loadgen and in the servers (both inherit the limit).
need=$((trickle + idle + 1024))
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < need)); then
  echo "slow_clients: warning: ulimit -n is $(ulimit -n), below the $need descriptors this needs" >&2
fi

bench_build "${1:-$root/build-bench}" smi-metrics-server meshsim loadgen
bench_start_stack
bench_start_server

path=/apis/metrics.smi-spec.io/v1alpha1/namespaces/emojivoto/deployments/web
# shellcheck disable=SC2034 # read by bench_loadgen through its name
paths=("$path")
mkdir -p "$work/www$(dirname "$path")"
for _ in 1 2 3; do bench_get "$path" "$work/www$path"; done
[[ ${NGINX:-1} == 1 ]] && bench_start_nginx

# Samples the process PID's resident memory and descriptors every second into FILE (the peak
# is what the table shows) until stopped.
sample() {
  while kill -0 "$1" 2>/dev/null; do
    echo "$(rss_kib "$1") $(open_fds "$1")" >>"$2"
    sleep 1
  done
}

header() {
  printf '| %-6s | %-25s | %10s | %8s | %7s | %7s | %8s | %6s | %7s | %10s | %7s | %5s |\n' \
    target 'slow clients' 'held (min)' answered 'p50 ms' 'p99 ms' 'max ms' errors refused \
    unanswered 'RSS MiB' fds
  bench_rule 6 25 10 8 7 7 8 6 7 10 7 5
}

# One measurement: row TARGET PORT CA TRICKLE IDLE SECONDS [PID to sample]; the loadgen output
# stays in $work/TARGET-TRICKLE-IDLE.kv.
row() {
  local target=$1 port=$2 ca=$3 t=$4 i=$5 s=$6 pid=${7:-} out sampler="" peak="- -"
  out=$work/$target-$t-$i.kv
  if [[ -n $pid ]]; then
    : >"$work/samples"
    sample "$pid" "$work/samples" &
    sampler=$!
  fi
  bench_loadgen "$out" "$port" "$ca" paths --connections "$connections" --rate "$rate" \
    --timeout 5 --duration "$s" --trickle "$t" --idle "$i" --ramp "$ramp"
  if [[ -n $sampler ]]; then
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    peak=$(awk '$1 > r { r = $1 } $2 > f { f = $2 } END { printf "%.0f %d", r / 1024, f }' "$work/samples")
  fi
  local held="-" refused
  if ((t + i > 0)); then held="$(kv "$out" trickle_open_min)+$(kv "$out" idle_open_min)"; fi
  refused=$(($(kv "$out" connect_errors) + $(kv "$out" background_refused)))
  printf '| %-6s | %-25s | %10s | %8s | %7s | %7s | %8s | %6s | %7s | %10s | %7s | %5s |\n' \
    "$target" "$t trickling + $i idle" "$held" "$(kv "$out" answered)" "$(kv "$out" p50_ms)" \
    "$(kv "$out" p99_ms)" "$(kv "$out" max_ms)" "$(kv "$out" errors)" "$refused" \
    "$(kv "$out" unfinished)" "${peak% *}" "${peak#* }"
}

echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); well-behaved client:" \
  "$connections connections, $rate requests/s, 5 s timeout; ${seconds}s measured after the slow" \
  "connections opened (at most ${ramp}s); held = slow connections open (fewest while measuring," \
  "trickling+idle); RSS and fds: the server's peak; ulimit -n $(ulimit -n)"
echo
header
row server "$server_port" "$work/ca.crt" 0 0 5 "$server_pid"
row server "$server_port" "$work/ca.crt" "$trickle" "$idle" "$seconds" "$server_pid"
if [[ -n $nginx_port ]]; then
  row nginx "$nginx_port" "$work/nginx/tls.crt" "$trickle" "$idle" "$seconds"
fi

out=$work/server-$trickle-$idle.kv
echo
echo "server: slow connections opened in $(kv "$out" ramp_s)s; $(kv "$out" trickle_open_start)/$trickle" \
  "trickling and $(kv "$out" idle_open_start)/$idle idle open when measuring began;" \
  "$(kv "$out" background_refused) refused, $(kv "$out" background_closed) closed by the server"
answered=$(kv "$out" answered) errors=$(kv "$out" errors) p99=$(kv "$out" p99_ms)
refused=$(($(kv "$out" connect_errors) + $(kv "$out" background_refused)))
# Stalled: nothing answered, requests timed out, or one still waited a second when time was up.
if [[ $answered == 0 || $(kv "$out" timeouts) != 0 ]] ||
  awk -v o="$(kv "$out" oldest_unfinished_s)" 'BEGIN { exit !(o >= 1) }'; then
  echo "server: STALLED: $answered answered, $(kv "$out" timeouts) timed out (5 s)," \
    "$(kv "$out" unfinished) unanswered at the end (oldest $(kv "$out" oldest_unfinished_s)s)"
fi
if [[ $p99 != - ]] && awk -v p="$p99" 'BEGIN { exit !(p < 50) }' && ((errors == 0 && refused == 0)); then
  echo "goal (p99 < 50 ms, nothing refused, no errors): met"
else
  echo "goal (p99 < 50 ms, nothing refused, no errors): NOT met (p99 $p99 ms, $errors errors, $refused refused)"
fi
