#!/usr/bin/env bash
# Starts the mesh simulator, a real Prometheus scraping it and the server, then runs the
# concurrency and backend-fault test binary (faults_test.cpp) against them. The test starts more
# servers of its own (against a slow and a garbage-answering local backend) with the same client
# CA, and a Prometheus of its own that it stops. Stops everything it started.
# Usage: run_faults.sh SERVER_BINARY MESHSIM_BINARY TEST_BINARY [gtest args...]
# Exit code: 1 if a test failed, else 77 (ctest: skipped) if one skipped, else 0.
set -euo pipefail

server_bin=$1 meshsim_bin=$2 test_bin=$3
shift 3
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/smi-faults.XXXXXX")
harness_name=run_faults
# shellcheck source=harness_lib.sh
source "$root/test/integration/harness_lib.sh"
trap harness_cleanup EXIT

# A client CA and an admin client certificate, shared by every server the test starts.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=smi-faults client CA" -keyout "$work/client-ca.key" -out "$work/client-ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/O=system:masters/CN=smi-faults-admin" -keyout "$work/client.key" -out "$work/client.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$work/client.ext"
openssl x509 -req -in "$work/client.csr" -CA "$work/client-ca.crt" -CAkey "$work/client-ca.key" \
  -CAcreateserial -days 1 -extfile "$work/client.ext" -out "$work/client.crt" 2>/dev/null

address_base=$(random_address_base)
MESHSIM="$meshsim_bin" "$root/tools/mesh-stack.sh" start "$work" --scrape-interval 1s \
  --address-base "$address_base"
prometheus_url=$(cat "$work/prometheus.url")

port=$(free_port)
"$server_bin" --bind-address 127.0.0.1 --secure-port "$port" --prometheus-url "$prometheus_url" --proxy-job linkerd-proxy --threads 64 \
  --client-ca-file "$work/client-ca.crt" --authorization-mode=AlwaysAllowAuthenticated >"$work/server.log" 2>&1 &
server_pid=$!
harness_pids+=("$server_pid")
for _ in $(seq 1 100); do
  curl -skf "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "run_faults: the server exited" >&2; exit 1; }
  sleep 0.1
done
curl -skf "https://127.0.0.1:$port/readyz" >/dev/null || { echo "run_faults: server never became ready" >&2; exit 1; }

export SMI_FAULTS_SERVER_BIN="$server_bin"
export SMI_FAULTS_SERVER_PORT=$port
export SMI_FAULTS_CLIENT_CA="$work/client-ca.crt"
export SMI_FAULTS_CLIENT_CERT="$work/client.crt"
export SMI_FAULTS_CLIENT_KEY="$work/client.key"
export SMI_FAULTS_PROMETHEUS_URL="$prometheus_url"
export SMI_FAULTS_PROMETHEUS_BIN="${PROMETHEUS_BIN:-/usr/bin/prometheus}"
export SMI_FAULTS_WORK="$work"
# kubectl, to check that it prints the server's Warning headers (the 1.32 client beside the
# dispatcher when it is there, as run_e2e.sh calls it).
if kubectl_bin=$(command -v kubectl); then
  real=$(readlink -f "$kubectl_bin")
  [[ -x "$(dirname "$real")/kubectl.1.32" ]] && kubectl_bin="$(dirname "$real")/kubectl.1.32"
  export SMI_FAULTS_KUBECTL="$kubectl_bin"
fi
harness_run_test "$test_bin" "$@"
harness_finish
