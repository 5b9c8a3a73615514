#!/usr/bin/env bash
# Benchmark (not a test): sidecar mode at scale, side by side with Debian's Prometheus scraping
# the same simulated proxies at the same interval in the same run. For each size: CPU seconds
# per minute and resident memory of both, the server's store per pod, and the p99 of a
# single-deployment GET and of a namespace's deployment list, each computed afresh (the answer
# cache is off, so no request is answered from an earlier one).
#
#   bench/sidecars_scale.sh [BUILD_DIR] [PODS...]   (default: build-bench, 1000 5000 10000)
#
# The mesh: PODS/100 namespaces of 50 two-pod Deployments; each Deployment calls one other in
# its namespace (20 requests/s, 2% failures, three latency buckets), so every pod's proxy serves
# series for two or three peers: about 40 KB of Linkerd text per scrape, all of it in the
# families the profile reads (a real proxy's scrape has more families the parser skips).
# Served by `meshsim --event-loop`, in a process of its own.
#
# Environment: PROMETHEUS_MAX (default 5000: larger sizes run without Prometheus, which needs
# about 0.13 core per 1,000 targets and would starve the others on a small machine), INTERVAL (scrape interval of both, default 10s), RETENTION (the server's
# --sidecar-retention, default its own 5m), MEASURE (seconds measured after the warm-up,
# default 300), WARMUP (seconds after the server's first full round of scrapes, default 60),
# SERVER_ARGS (extra server flags, split on spaces), SMI_SERVER (a server binary to measure
# instead of the one built here, e.g. an older build for a before/after table), JOBS (build
# jobs, default 2).
# Goals (issue: sidecar mode): 10,000 pods within 0.25 core; at least 10x less CPU and memory per
# pod than Prometheus in the same run; at most 50 KB per pod at the default retention; a
# single-deployment GET under 5 ms at 10,000 pods.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_name=sidecars_scale
# shellcheck source=bench_lib.sh
source "$root/bench/bench_lib.sh"

interval=${INTERVAL:-10s}
measure=${MEASURE:-300}
warmup=${WARMUP:-60}
build_dir=${1:-$root/build-bench}
shift || true
sizes=("$@")
((${#sizes[@]})) || sizes=(1000 5000 10000)

bench_build "$build_dir" smi-metrics-server meshsim loadgen
# Descriptors: one listening socket per simulated pod and one connection per pod from each
# scraper; the simulator runs as several processes (--shard) of at most 5,000 pods each.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
  [[ -n $1 ]] || { echo 0; return; }
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
peak_rss_mib() { [[ -n $1 ]] || { echo 0; return; }; awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
rss_mib() { [[ -n $1 ]] || { echo 0; return; }; awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# CPU seconds of every simulator process together.
meshsim_cpu() {
  local pid sum=0
  for pid in "${meshsim_pids[@]}"; do sum=$(awk -v a="$sum" -v b="$(cpu_seconds "$pid")" 'BEGIN { print a + b }'); done
  echo "$sum"
}

# The topology YAML for PODS pods.
write_topology() {
  local pods=$1 out=$2 namespaces n d
  namespaces=$(((pods + 99) / 100))
  {
    echo "mesh: linkerd"
    echo "workloads:"
    for ((n = 0; n < namespaces; n++)); do
      for ((d = 0; d < 50; d++)); do
        echo "  - {namespace: ns$n, name: d$d, replicas: 2}"
      done
    done
    echo "calls:"
    for ((n = 0; n < namespaces; n++)); do
      for ((d = 0; d < 50; d++)); do
        echo "  - {from: ns$n/d$d, to: ns$n/d$(((d + 7) % 50)), rps: 20, failure_ratio: 0.02," \
          "latency: [{le_ms: 10, fraction: 0.5}, {le_ms: 100, fraction: 0.4}, {le_ms: 1000, fraction: 0.1}]}"
      done
    done
  } >"$out"
}

# Prometheus' own count of the scrapes it has made (every target, every interval).
prom_scrapes() {
  [[ -n $prom_port ]] || { echo 0; return; }
  curl -sS --max-time 20 "http://127.0.0.1:$prom_port/metrics" |
    awk 'index($0, "prometheus_target_interval_length_seconds_count") == 1 { s += $NF }
         END { printf "%.0f", s }'
}

# The server's own metric NAME{LABELS} (the sum over matching lines) from its /metrics.
server_metric() {
  curl -sS --cacert "$work/ca.crt" --cert "$work/client.crt" --key "$work/client.key" \
    "https://127.0.0.1:$server_port/metrics" |
    awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { printf "%.0f", s }'
}

interval_seconds() {
  case $interval in
    *ms) awk -v v="${interval%ms}" 'BEGIN { print v / 1000 }' ;;
    *s) echo "${interval%s}" ;;
    *m) echo $((${interval%m} * 60)) ;;
  esac
}

rows=()
for pods in "${sizes[@]}"; do
  dir=$work/$pods
  mkdir -p "$dir"
  write_topology "$pods" "$dir/topology.yaml"
  base=$(random_address_base)
  "$build/tools/meshsim/meshsim" --topology "$dir/topology.yaml" --address-base "$base" --check \
    --write-kube-objects "$dir/kube-objects.json" --write-prometheus-config "$dir/prometheus.yml" \
    --scrape-interval "$interval" >/dev/null
  shards=$(((pods + 4999) / 5000))
  meshsim_pids=()
  for ((k = 0; k < shards; k++)); do
    "$build/tools/meshsim/meshsim" --event-loop --shard "$k/$shards" --topology "$dir/topology.yaml" \
      --address-base "$base" >"$dir/meshsim-$k.log" 2>&1 &
    meshsim_pids+=($!)
    bench_pids+=($!)
  done
  for k in "${!meshsim_pids[@]}"; do
    for _ in $(seq 1 600); do grep -q ready "$dir/meshsim-$k.log" && break; sleep 0.1; done
    grep -q ready "$dir/meshsim-$k.log" ||
      { echo "$bench_name: meshsim did not start (see $dir/meshsim-$k.log)" >&2; exit 1; }
  done

  prom_port="" prom_pid=""
  if ((pods <= ${PROMETHEUS_MAX:-5000})); then
    prom_port=$(free_port)
    prometheus --config.file "$dir/prometheus.yml" --storage.tsdb.path "$dir/prom-data" \
      --web.listen-address "127.0.0.1:$prom_port" >"$dir/prometheus.log" 2>&1 &
    prom_pid=$!
    bench_pids+=("$prom_pid")
  fi

  server_port=$(free_port)
  extra=()
  [[ -n ${SERVER_ARGS:-} ]] && read -ra extra <<<"$SERVER_ARGS"
  retention=()
  [[ -n ${RETENTION:-} ]] && retention=(--sidecar-retention "$RETENTION")
  "${SMI_SERVER:-$build/smi-metrics-server}" --bind-address 127.0.0.1 --secure-port "$server_port" \
    --source sidecars --sidecar-interval "$interval" "${retention[@]}" \
    --kube-objects "$dir/kube-objects.json" --write-kubeconfig "$dir/kubeconfig" \
    --answer-cache-entries 0 "${extra[@]}" >"$dir/server.log" 2>&1 &
  server_pid=$!
  bench_pids+=("$server_pid")
  # Ready: the first full round of scrapes is done.
  for _ in $(seq 1 1200); do
    curl -skf "https://127.0.0.1:$server_port/readyz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "$bench_name: the server exited" >&2; exit 1; }
    sleep 0.1
  done
  curl -skf "https://127.0.0.1:$server_port/readyz" >/dev/null ||
    { echo "$bench_name: the server was not ready after 120 s" >&2; exit 1; }
  for field in certificate-authority-data:ca.crt client-certificate-data:client.crt \
    client-key-data:client.key; do
    sed -n "s/^ *${field%%:*}: *//p" "$dir/kubeconfig" | head -n1 | base64 -d >"$work/${field#*:}"
  done

  echo "$bench_name: $pods pods: warming up for ${warmup}s" >&2
  sleep "$warmup"
  server_cpu0=$(cpu_seconds "$server_pid") prom_cpu0=$(cpu_seconds "$prom_pid")
  server_scrapes0=$(server_metric 'smi_sidecar_scrapes_total{result="success"}')
  prom_scrapes0=$(prom_scrapes)
  meshsim_cpu0=$(meshsim_cpu)
  echo "$bench_name: $pods pods: measuring for ${measure}s" >&2
  sleep "$measure"
  server_cpu1=$(cpu_seconds "$server_pid") prom_cpu1=$(cpu_seconds "$prom_pid")
  server_scrapes1=$(server_metric 'smi_sidecar_scrapes_total{result="success"}')
  prom_scrapes1=$(prom_scrapes)
  meshsim_cpu1=$(meshsim_cpu)

  b=/apis/metrics.smi-spec.io/v1alpha1
  # shellcheck disable=SC2034 # read by bench_loadgen through its name
  get_paths=("$b/namespaces/ns0/deployments/d0")
  # shellcheck disable=SC2034
  list_paths=("$b/namespaces/ns0/deployments")
  bench_loadgen "$dir/get.kv" "$server_port" "$work/ca.crt" get_paths --connections 1 --duration 10
  bench_loadgen "$dir/list.kv" "$server_port" "$work/ca.crt" list_paths --connections 1 --duration 10

  # Scrapes per second each scraper achieved while measuring, against the PODS/interval the run
  # asks for: a scraper (or the simulator) short of CPU shows here, and its figures are not those
  # of a full scrape rate.
  want=$(awk -v p="$pods" -v i="$(interval_seconds)" 'BEGIN { printf "%.0f", p / i }')
  server_rate=$(awk -v a="$server_scrapes0" -v b="$server_scrapes1" -v m="$measure" 'BEGIN { printf "%.0f", (b - a) / m }')
  prom_rate=$(awk -v a="$prom_scrapes0" -v b="$prom_scrapes1" -v m="$measure" 'BEGIN { printf "%.0f", (b - a) / m }')
  store_bytes=$(server_metric 'smi_sidecar_store{what="bytes"')
  rows+=("$(awk -v pods="$pods" -v m="$measure" \
    -v sc="$(awk -v a="$server_cpu0" -v b="$server_cpu1" 'BEGIN { print b - a }')" \
    -v pc="$(awk -v a="$prom_cpu0" -v b="$prom_cpu1" 'BEGIN { print b - a }')" \
    -v mc="$(awk -v a="$meshsim_cpu0" -v b="$meshsim_cpu1" 'BEGIN { print b - a }')" \
    -v srss="$(rss_mib "$server_pid")" -v speak="$(peak_rss_mib "$server_pid")" \
    -v prss="$(rss_mib "$prom_pid")" -v ppeak="$(peak_rss_mib "$prom_pid")" \
    -v store="$store_bytes" -v rates="$server_rate/$prom_rate/$want" \
    -v gp99="$(kv "$dir/get.kv" p50_ms)/$(kv "$dir/get.kv" p99_ms)" \
    -v lp99="$(kv "$dir/list.kv" p50_ms)/$(kv "$dir/list.kv" p99_ms)" \
    -v gerr="$(kv "$dir/get.kv" errors)" -v lerr="$(kv "$dir/list.kv" errors)" \
    -v with_prom="$([[ -n $prom_pid ]] && echo 1 || echo 0)" \
    'BEGIN {
       scpm = sc * 60 / m; pcpm = pc * 60 / m
       pcol = with_prom ? sprintf("%.2f", pcpm) : "-"
       cx = with_prom && scpm > 0 ? sprintf("%.1fx", pcpm / scpm) : "-"
       pm = with_prom ? sprintf("%d", ppeak) : "-"
       mx = with_prom && speak > 0 ? sprintf("%.1fx", ppeak / speak) : "-"
       printf "| %6d | %13s | %8.2f | %8s | %6s | %7d | %7s | %6s | %8.1f | %8.1f | %13s | %13s | %5s | %6.2f |",
         pods, rates, scpm, pcol, cx, speak, pm, mx, store / pods / 1024, speak * 1024 / pods,
         gp99, lp99, gerr "/" lerr, mc * 60 / m
     }')")
  echo "${rows[-1]}" >&2

  for pid in "$server_pid" $prom_pid "${meshsim_pids[@]}"; do
    { kill "$pid" && wait "$pid"; } 2>/dev/null || true
  done
  bench_pids=()
  rm -rf "$dir/prom-data"
done

echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); scrape interval $interval," \
  "server retention ${RETENTION:-5m (default)}; ${warmup}s warm-up, ${measure}s measured;" \
  "$(prometheus --version 2>&1 | head -n1 | cut -d' ' -f1-3)"
echo "# CPU: core-seconds per minute (0.25 core = 15). RSS: peak (VmHWM). Store per pod: the" \
  "server's own smi_sidecar_store bytes / pods; scrapes/s: successful scrapes per second of the" \
  "server / Prometheus / the rate asked for; rss KB: peak RSS / pods. Latency (ms): 10 s of" \
  "sequential requests, each computed. sim cpu: the simulator's, for scale."
echo
printf '| %6s | %13s | %8s | %8s | %6s | %7s | %7s | %6s | %8s | %8s | %13s | %13s | %5s | %6s |\n' \
  pods 'scrapes/s s/p/want' 'srv cpu' 'prom cpu' 'cpu x' 'srv MiB' 'prom MiB' 'mem x' 'store KB' 'rss KB' \
  'get p50/p99' 'list p50/p99' errors 'sim cpu'
bench_rule 6 13 8 8 6 7 7 6 8 8 13 13 5 6
printf '%s\n' "${rows[@]}"
