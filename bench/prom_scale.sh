#!/usr/bin/env bash
# Benchmark (not a test): the server in Prometheus mode over a synthetic Linkerd-meshed cluster of
# NAMESPACES x DEPLOYMENTS x PODS pods, 2-3 pod-to-pod edges per pod, backfilled into a Prometheus
# with `promtool tsdb create-blocks-from openmetrics` (prom_synth.cpp says what the series are).
# For each request shape it prints the server's median and max, the floor (the server's own PromQL
# replayed against Prometheus at the same evaluation time, all of a request's queries at once),
# their ratio, the bytes Prometheus sent back, the answer's size and the server's peak and current
# RSS after the shape's repetitions; then the PromQL of each shape (see prom_scale.cpp).
#
#   bench/prom_scale.sh [--build DIR] [--namespaces N] [--deployments N] [--pods N]
#                       [--repetitions N] [--only SHAPE] [--10k] [--data DIR]
#                       [-- SERVER FLAGS...]
#
# Defaults: build-bench, 4 x 25 x 10 = 1,000 pods, 50 repetitions per shape (a few minutes on 2
# cores). --10k is 20 x 50 x 10 = 10,000 pods (about 990,000 series). Flags after `--` go to the
# server (e.g. --prometheus-timeout 30s). The data lives under $TMPDIR (default /dev/shm when it
# exists: the OpenMetrics text is about 200 KB per pod before the backfill deletes it).
# --data DIR keeps the backfilled Prometheus and its objects in DIR and reuses them on a later run
# of the same size started within an hour (the synthetic samples end 100 minutes after they
# were made); the backfill of 10,000 pods takes about 4 minutes.
# Configures DIR as a Release build with the benchmarks (-DSMI_BUILD_BENCH=ON) and builds what it
# runs (JOBS parallel jobs, default 2).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-bench
namespaces=4 deployments=25 pods=10 repetitions=50 only="" data=""
server_flags=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --namespaces) namespaces=$2; shift 2 ;;
    --deployments) deployments=$2; shift 2 ;;
    --pods) pods=$2; shift 2 ;;
    --repetitions) repetitions=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --10k) namespaces=20 deployments=50 pods=10; shift ;;
    --) shift; server_flags=("$@"); break ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

if [[ -z ${SKIP_BUILD:-} ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSMI_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" -j"${JOBS:-2}" --target smi-metrics-server prom_synth prom_scale >&2
fi
build=$(cd "$build" && pwd)
# SERVER_BIN: another server binary to measure (an earlier build, for a before/after table).
server_bin=${SERVER_BIN:-$build/smi-metrics-server}
tmp=${TMPDIR:-$([[ -d /dev/shm ]] && echo /dev/shm || echo /tmp)}
work=$(mktemp -d "$tmp/smi-prom-scale.XXXXXX")
server_pid="" prometheus_pid=""
# free_port (its harness_cleanup is not used here).
# shellcheck source=../test/integration/harness_lib.sh
source "$root/test/integration/harness_lib.sh"

cleanup() {
  local rc=$?
  for pid in $server_pid $prometheus_pid; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  if [[ $rc -ne 0 ]]; then
    rm -f "$data/series.om"
    echo "prom_scale: failed; logs in $work" >&2
  else
    rm -rf "$work"
  fi
  exit $rc
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=bench client CA" -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/O=system:masters/CN=bench" -keyout "$work/client.key" -out "$work/client.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$work/client.ext"
openssl x509 -req -in "$work/client.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -CAcreateserial -days 1 -extfile "$work/client.ext" -out "$work/client.crt" 2>/dev/null

# Where the synthetic cluster lives: this run's own directory, or --data DIR to keep and reuse it.
size="$namespaces x $deployments x $pods"
data=${data:-$work}
mkdir -p "$data"
if [[ -f $data/size.txt && $(cat "$data/size.txt") == "$size" && -d $data/prom-data ]] &&
  (($(date +%s) - $(stat -c %Y "$data/size.txt") < 60 * 60)); then
  echo "# reusing the $size cluster backfilled in $data" >&2
else
  rm -rf "$data/prom-data" "$data/size.txt"
  started=$(date +%s)
  "$build/bench/prom_synth" --out "$data" --namespaces "$namespaces" \
    --deployments "$deployments" --pods "$pods" >"$data/synth.txt"
  echo "# $(cat "$data/synth.txt"); generated in $(($(date +%s) - started)) s" >&2
  started=$(date +%s)
  promtool tsdb create-blocks-from openmetrics "$data/series.om" "$data/prom-data" \
    >"$work/promtool.log" 2>&1
  rm -f "$data/series.om"
  echo "# backfilled in $(($(date +%s) - started)) s" >&2
  echo "$size" >"$data/size.txt"
fi

prometheus_port=$(free_port)
cat >"$work/prometheus.yml" <<EOF
global:
  query_log_file: $work/query.log
EOF
/usr/bin/prometheus --config.file "$work/prometheus.yml" --storage.tsdb.path "$data/prom-data" \
  --storage.tsdb.retention.time 30d --web.listen-address "127.0.0.1:$prometheus_port" \
  >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!
prometheus_url="http://127.0.0.1:$prometheus_port"
for _ in $(seq 1 600); do
  curl -sf "$prometheus_url/-/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "$prometheus_url/-/ready" >/dev/null || { echo "prom_scale: Prometheus never became ready" >&2; exit 1; }

port=$(free_port)
# No Kubernetes to ask who may read: every caller with a client certificate may.
"$server_bin" --bind-address 127.0.0.1 --secure-port "$port" \
  --prometheus-url "$prometheus_url" --proxy-job linkerd-proxy --client-ca-file "$work/ca.crt" \
  --kube-objects "$data/kube-objects.json" --authorization-mode=AlwaysAllowAuthenticated \
  ${server_flags[@]+"${server_flags[@]}"} >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  curl -skf "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -skf "https://127.0.0.1:$port/readyz" >/dev/null || { echo "prom_scale: server never became ready" >&2; exit 1; }

echo "# $(nproc) cores; Prometheus $(/usr/bin/prometheus --version 2>&1 | head -1 | cut -d' ' -f3);" \
  "$namespaces x $deployments x $pods pods; $repetitions requests per shape, each with a window" \
  "no other used; server flags: ${server_flags[*]:-(defaults)}" >&2
"$build/bench/prom_scale" --server-port "$port" --server-pid "$server_pid" \
  --cert "$work/client.crt" --key "$work/client.key" --prometheus-url "$prometheus_url" \
  --query-log "$work/query.log" --repetitions "$repetitions" ${only:+--only "$only"}
