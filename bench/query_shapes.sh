#!/usr/bin/env bash
# Benchmark (not a test): ours versus the reference server's query shapes, against one real
# Prometheus scraping the simulated mesh. Prints a Markdown table (see query_shapes.cpp).
#
#   bench/query_shapes.sh [BUILD_DIR] [REQUESTS]    (default: build-scale, 200)
#
# BUILD_DIR must hold a Release build of smi-metrics-server and meshsim
# (cmake -S . -B build-scale -DCMAKE_BUILD_TYPE=Release &&
#  cmake --build build-scale -j2 --target smi-metrics-server meshsim).
# The driver is compiled here with g++ (it is not part of the CMake build or of ctest).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$root/build-scale}" && pwd)
requests=${2:-200}
work=$(mktemp -d "${TMPDIR:-/tmp}/smi-bench.XXXXXX")
server_pid=""

cleanup() {
  local rc=$?
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  "$root/tools/mesh-stack.sh" stop "$work" >/dev/null 2>&1 || true
  if [[ $rc -ne 0 ]]; then echo "query_shapes: failed; logs in $work" >&2; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT

for bin in smi-metrics-server tools/meshsim/meshsim; do
  [[ -x "$build/$bin" ]] || { echo "query_shapes: $build/$bin is not built" >&2; exit 1; }
done

g++ -std=c++20 -O2 -o "$work/query_shapes" "$root/bench/query_shapes.cpp" \
  $(pkg-config --cflags --libs cpp-httplib) -lssl -lcrypto -lpthread

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=bench client CA" -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/O=system:masters/CN=bench" -keyout "$work/client.key" -out "$work/client.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$work/client.ext"
openssl x509 -req -in "$work/client.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -CAcreateserial -days 1 -extfile "$work/client.ext" -out "$work/client.crt" 2>/dev/null

# Pod addresses of its own, so that a stack another run (the demo, e2e) started does not collide.
address_base="127.$((20 + RANDOM % 200)).$((RANDOM % 250)).1"
MESHSIM="$build/tools/meshsim/meshsim" "$root/tools/mesh-stack.sh" start "$work" \
  --scrape-interval 1s \
  --address-base "$address_base" >&2
prometheus_url=$(cat "$work/prometheus.url")
port=$(( 20000 + RANDOM % 12000 ))  # below the ephemeral range
"$build/smi-metrics-server" --bind-address 127.0.0.1 --secure-port "$port" \
  --prometheus-url "$prometheus_url" --proxy-job linkerd-proxy --client-ca-file "$work/ca.crt" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -skf "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 10  # a few scrapes' worth of traffic in every window

echo "# $(nproc) cores; Prometheus $(/usr/bin/prometheus --version 2>&1 | head -1 | cut -d' ' -f3);" \
  "$requests sequential requests per row over one keep-alive connection" >&2
"$work/query_shapes" --server-port "$port" --cert "$work/client.crt" --key "$work/client.key" \
  --prometheus-url "$prometheus_url" --requests "$requests"
