#!/usr/bin/env bash
# Benchmark (not a test): ours versus the reference server's query shapes, against one real
# Prometheus scraping the simulated mesh. Prints a Markdown table (see query_shapes.cpp).
#
#   bench/query_shapes.sh [BUILD_DIR] [REQUESTS]    (default: build-bench, 200)
#
# Configures BUILD_DIR as a Release build with the benchmarks (-DSMI_BUILD_BENCH=ON) and builds
# what it runs: smi-metrics-server, meshsim and the driver, query_shapes (JOBS parallel jobs,
# default 2).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-bench}
requests=${2:-200}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSMI_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target smi-metrics-server meshsim query_shapes >&2
build=$(cd "$build" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/smi-bench.XXXXXX")
server_pid=""
harness_name=query_shapes
# free_port, random_address_base, prometheus_value (its harness_cleanup is not used here).
# shellcheck source=../test/integration/harness_lib.sh
source "$root/test/integration/harness_lib.sh"

cleanup() {
  local rc=$?
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  "$root/tools/mesh-stack.sh" stop "$work" >/dev/null 2>&1 || true
  if [[ $rc -ne 0 ]]; then echo "query_shapes: failed; logs in $work" >&2; else rm -rf "$work"; fi
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

# Pod addresses of its own, so that a stack another run (the demo, e2e) started does not collide.
address_base=$(random_address_base)
MESHSIM="$build/tools/meshsim/meshsim" "$root/tools/mesh-stack.sh" start "$work" \
  --scrape-interval 1s \
  --address-base "$address_base" >&2
prometheus_url=$(cat "$work/prometheus.url")
port=$(free_port)
# No Kubernetes to ask who may read: every caller with a client certificate may.
"$build/smi-metrics-server" --bind-address 127.0.0.1 --secure-port "$port" \
  --prometheus-url "$prometheus_url" --proxy-job linkerd-proxy --client-ca-file "$work/ca.crt" \
  --authorization-mode=AlwaysAllowAuthenticated >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -skf "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -skf "https://127.0.0.1:$port/readyz" >/dev/null || { echo "query_shapes: server never became ready" >&2; exit 1; }
# A few scrapes' worth of traffic in every window: wait (bounded) until every request series of
# the mesh existed 10s ago.
counters='request_total'
for _ in $(seq 1 240); do
  series=$(prometheus_value "$prometheus_url" "count($counters)")
  young=$(prometheus_value "$prometheus_url" "count($counters unless $counters offset 10s)")
  [[ ${series:-0} -gt 0 && -z $young ]] && break
  sleep 0.25
done
[[ ${series:-0} -gt 0 && -z $young ]] || { echo "query_shapes: no settled traffic after 60s" >&2; exit 1; }

echo "# $(nproc) cores; Prometheus $(/usr/bin/prometheus --version 2>&1 | head -1 | cut -d' ' -f3);" \
  "$requests sequential requests per row over one keep-alive connection" >&2
"$build/bench/query_shapes" --server-port "$port" --cert "$work/client.crt" --key "$work/client.key" \
  --prometheus-url "$prometheus_url" --requests "$requests"
