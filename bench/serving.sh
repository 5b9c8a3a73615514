#!/usr/bin/env bash
# Benchmark (not a test): requests/s of the server answering from its cache over TLS with
# keep-alive and a client certificate, beside nginx serving the same bytes the same way in the
# same run (the yardstick: on a shared machine only the ratio means much). Goal: at least 0.5x
# nginx for the list and the get.
#
#   bench/serving.sh [BUILD_DIR] [SECONDS]    (default: build-bench, 10 s per measurement)
#
# CONNECTIONS (default 8) keep-alive connections from loadgen on LOADGEN_THREADS threads
# (default 2: on one, loadgen rather than nginx sets nginx's figure), the same for both servers. Rows: a list of pods (one namespace, about 9 KB), a get
# of one deployment, /version. See bench_lib.sh for SMI_SERVER and SERVER_ARGS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_name=serving
# shellcheck source=bench_lib.sh
source "$root/bench/bench_lib.sh"
seconds=${2:-10}
connections=${CONNECTIONS:-8}
threads=${LOADGEN_THREADS:-2}

bench_build "${1:-$root/build-bench}" smi-metrics-server meshsim loadgen
bench_start_stack
bench_start_server

b=/apis/metrics.smi-spec.io/v1alpha1
rows=("list of pods:$b/namespaces/emojivoto/pods" "get one deployment:$b/namespaces/emojivoto/deployments/web"
  "/version:/version")
# Warm the server's caches, then keep the answer's exact bytes for nginx to serve.
for row in "${rows[@]}"; do
  path=${row#*:}
  mkdir -p "$work/www$(dirname "$path")"
  for _ in 1 2 3; do bench_get "$path" "$work/www$path"; done
done
bench_start_nginx
for row in "${rows[@]}"; do
  path=${row#*:}
  curl -sSf --cacert "$work/nginx/tls.crt" -o "$work/nginx-copy" "https://127.0.0.1:$nginx_port$path"
  cmp -s "$work/nginx-copy" "$work/www$path" || { echo "serving: nginx serves other bytes for $path" >&2; exit 1; }
done

echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $connections keep-alive" \
  "connections with a client certificate, loadgen on $threads thread(s), ${seconds}s per cell;" \
  "$(nginx -v 2>&1 | cut -d/ -f2) with $(nproc) workers"
echo
printf '| %-18s | %7s | %11s | %12s | %5s | %13s | %12s | %10s |\n' request bytes 'nginx req/s' \
  'server req/s' ratio 'server p99 ms' 'nginx p99 ms' 'errors n/s'
bench_rule 18 7 11 12 5 13 12 10
verdicts=()
for row in "${rows[@]}"; do
  name=${row%%:*} path=${row#*:}
  # shellcheck disable=SC2034 # read by bench_loadgen through its name
  paths=("$path")
  bench_loadgen "$work/nginx.kv" "$nginx_port" "$work/nginx/tls.crt" paths \
    --connections "$connections" --threads "$threads" --duration "$seconds"
  bench_loadgen "$work/server.kv" "$server_port" "$work/ca.crt" paths \
    --connections "$connections" --threads "$threads" --duration "$seconds"
  nginx_rps=$(kv "$work/nginx.kv" rps) server_rps=$(kv "$work/server.kv" rps)
  ratio=$(awk -v s="$server_rps" -v n="$nginx_rps" 'BEGIN { printf "%.2f", (n > 0 ? s / n : 0) }')
  errors="$(kv "$work/nginx.kv" errors)/$(kv "$work/server.kv" errors)"
  printf '| %-18s | %7s | %11s | %12s | %5s | %13s | %12s | %10s |\n' "$name" \
    "$(stat -c %s "$work/www$path")" "$nginx_rps" "$server_rps" "$ratio" \
    "$(kv "$work/server.kv" p99_ms)" "$(kv "$work/nginx.kv" p99_ms)" "$errors"
  if [[ $name != /version ]]; then
    met=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.5 ? "met" : "NOT met") }')
    verdicts+=("$name: ${ratio}x nginx, goal 0.5x $met")
  fi
done
echo
printf '%s\n' "${verdicts[@]}"
