#!/usr/bin/env bash
# Starts the mesh simulator, a real Prometheus scraping it and the server, then runs each test
# binary against them (one stack start for all: it takes most of the time). Stops everything it
# started. Fails if kubectl is missing: these tests must run in CI, never skip.
# Usage: run_e2e.sh SERVER_BINARY MESHSIM_BINARY TEST_BINARY [TEST_BINARY...] [-- gtest args...]
# Every binary runs even when an earlier one failed; the exit code is 1 if any failed, else 77
# (ctest: skipped) if any skipped a test, else 0.
set -euo pipefail

server_bin=$1 meshsim_bin=$2
shift 2
test_bins=()
while [[ $# -gt 0 && $1 != "--" ]]; do test_bins+=("$1"); shift; done
[[ $# -gt 0 ]] && shift
[[ ${#test_bins[@]} -gt 0 ]] || { echo "run_e2e: no test binary given" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# SMI_E2E_MESH=istio: the simulator and the server in Istio mode (default: their default, linkerd).
mesh_args=()
[[ -n ${SMI_E2E_MESH:-} ]] && mesh_args=(--mesh "$SMI_E2E_MESH")
# SMI_E2E_KUBE: where the server's Kubernetes objects come from: empty (none: existence from the
# series), "objects" (the simulator's kube-objects.json, --kube-objects) or "fakekube" (the fake
# API server SMI_E2E_FAKEKUBE serving that file over HTTPS with a token, --kubeconfig; it refuses
# pods at first, so /readyz must say 503 until it lets the caches sync).
kube_mode=${SMI_E2E_KUBE:-}
# SMI_E2E_SOURCE=sidecars: the server scrapes the simulated proxies itself (sidecar mode) and is
# given no Prometheus at all; the tests still ask the harness' Prometheus, which scrapes the same
# proxies at the same interval, for the expected numbers (within a tolerance: e2e_env.cpp).
source_mode=${SMI_E2E_SOURCE:-prometheus}
# SMI_E2E_SECOND_JOB=NAME: the harness' Prometheus scrapes every proxy twice, the second time in a
# job of that name (the server must still count each request once).
stack_args=()
[[ -n ${SMI_E2E_SECOND_JOB:-} ]] && stack_args=(--second-job "$SMI_E2E_SECOND_JOB")
[[ $source_mode == sidecars && -z $kube_mode ]] && kube_mode=objects
work=$(mktemp -d "${TMPDIR:-/tmp}/smi-e2e.XXXXXX")
harness_name=run_e2e
# shellcheck source=harness_lib.sh
source "$root/test/integration/harness_lib.sh"
trap harness_cleanup EXIT

address_base=$(random_address_base)
MESHSIM="$meshsim_bin" "$root/tools/mesh-stack.sh" start "$work" --scrape-interval 1s "${mesh_args[@]}" \
  --address-base "$address_base" "${stack_args[@]}"
prometheus_url=$(cat "$work/prometheus.url")

kube_args=()
case $kube_mode in
  "") ;;
  objects) kube_args=(--kube-objects "$work/kube-objects.json") ;;
  fakekube)
    [[ -x ${SMI_E2E_FAKEKUBE:-} ]] || { echo "run_e2e: SMI_E2E_FAKEKUBE is not a program" >&2; exit 2; }
    "$SMI_E2E_FAKEKUBE" --kubeconfig="$work/fakekube.kubeconfig" --control="$work/fakekube.ctl" \
      --fail=pods:503 "$work/kube-objects.json" >"$work/fakekube.log" 2>&1 &
    fakekube_pid=$!
    harness_pids+=("$fakekube_pid")
    for _ in $(seq 1 100); do
      [[ -s "$work/fakekube.kubeconfig" && -p "$work/fakekube.ctl" ]] && break
      kill -0 "$fakekube_pid" 2>/dev/null || { echo "run_e2e: fakekube exited" >&2; exit 1; }
      sleep 0.1
    done
    [[ -p "$work/fakekube.ctl" ]] || { echo "run_e2e: fakekube did not start" >&2; exit 1; }
    kube_args=(--kubeconfig "$work/fakekube.kubeconfig")
    # SMI_E2E_UNKNOWN_POD_OF=NAMESPACE/DEPLOYMENT: one of that Deployment's pods (the last) ran and
    # ended before the server started: the fake deletes it before the caches' first list, while
    # its proxy keeps serving. The tests learn which one from SMI_E2E_UNKNOWN_POD.
    if [[ -n ${SMI_E2E_UNKNOWN_POD_OF:-} ]]; then
      unknown_pod=$(python3 - "$work/kube-objects.json" "$SMI_E2E_UNKNOWN_POD_OF" <<'PY'
import json, sys
ns, deployment = sys.argv[2].split("/", 1)
pods = [o["metadata"]["name"] for o in json.load(open(sys.argv[1]))["items"]
        if o["kind"] == "Pod" and o["metadata"].get("namespace") == ns
        and any(r["kind"] == "ReplicaSet" and r["name"].rsplit("-", 1)[0] == deployment
                for r in o["metadata"].get("ownerReferences", []))]
if len(pods) < 2:
    sys.exit("run_e2e: SMI_E2E_UNKNOWN_POD_OF: %s has fewer than two pods" % sys.argv[2])
print(pods[-1])
PY
)
      echo "delete Pod ${SMI_E2E_UNKNOWN_POD_OF%%/*} $unknown_pod" >"$work/fakekube.ctl"
      export SMI_E2E_UNKNOWN_POD="${SMI_E2E_UNKNOWN_POD_OF%%/*}/$unknown_pod"
      echo "run_e2e: $SMI_E2E_UNKNOWN_POD ended before the server started"
    fi
    ;;
  *) echo "run_e2e: SMI_E2E_KUBE=$kube_mode: expected objects or fakekube" >&2; exit 2 ;;
esac

port=$(free_port)
# Scrapes run every 1s with a 1s timeout: answering 2s in the past means no scrape is still in
# flight for the evaluated second, so PromQL asked later sees exactly the data the server saw,
# even on a loaded machine.
source_args=(--prometheus-url "$prometheus_url")
[[ $source_mode == sidecars ]] && source_args=(--source sidecars --sidecar-interval 1s)
"$server_bin" --bind-address 127.0.0.1 --secure-port "$port" "${source_args[@]}" \
  "${mesh_args[@]}" --evaluation-delay 2s \
  --write-kubeconfig "$work/kubeconfig" "${kube_args[@]}" >"$work/server.log" 2>&1 &
server_pid=$!
harness_pids+=("$server_pid")
if [[ $kube_mode == fakekube ]]; then
  # Pods are refused, so the caches cannot have synced: not ready, naming what is missing.
  code=000
  for _ in $(seq 1 100); do
    code=$(curl -sk -o "$work/readyz.txt" -w '%{http_code}' "https://127.0.0.1:$port/readyz" || true)
    [[ $code != 000 ]] && break
    kill -0 "$server_pid" 2>/dev/null || { echo "run_e2e: the server exited" >&2; exit 1; }
    sleep 0.1
  done
  if [[ $code != 503 ]] || ! grep -q pods "$work/readyz.txt"; then
    echo "run_e2e: /readyz before the caches synced: $code $(cat "$work/readyz.txt")" >&2
    exit 1
  fi
  echo "run_e2e: /readyz before sync: $code $(head -n 1 "$work/readyz.txt")"
  echo "fail pods 0" >"$work/fakekube.ctl"
fi
for _ in $(seq 1 300); do
  curl -skf "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "run_e2e: the server exited" >&2; exit 1; }
  sleep 0.1
done
curl -skf "https://127.0.0.1:$port/readyz" >/dev/null || { echo "run_e2e: server never became ready" >&2; exit 1; }
if [[ $source_mode == sidecars ]]; then
  # The numbers must come from the server's own scrapes: it was given no Prometheus URL, and it
  # says where its numbers come from.
  grep -q "from the mesh's sidecars" "$work/server.log" ||
    { echo "run_e2e: the server does not say it scrapes the sidecars" >&2; cat "$work/server.log" >&2; exit 1; }
  ready_at=$(date +%s)
fi

# kubectl on this machine is a version dispatcher; call the 1.32 client beside it directly when
# it is there, so the test runs the kubectl it was written against.
kubectl_bin=$(command -v kubectl) || { echo "run_e2e: kubectl is not installed" >&2; exit 1; }
real=$(readlink -f "$kubectl_bin")
[[ -x "$(dirname "$real")/kubectl.1.32" ]] && kubectl_bin="$(dirname "$real")/kubectl.1.32"

view() { "$kubectl_bin" --kubeconfig "$work/kubeconfig" config view --raw -o "jsonpath=$1" | base64 -d; }
view '{.clusters[0].cluster.certificate-authority-data}' >"$work/ca.crt"
view '{.users[0].user.client-certificate-data}' >"$work/client.crt"
view '{.users[0].user.client-key-data}' >"$work/client.key"

# The tests read the mesh's request counters over windows of up to 10s that end at the server's
# evaluation time, 2s ago. A call's series appear with its first request; wait until none
# appeared in the last 13s, so every simulated call has its series and each fills the window.
# Polled (bounded): a fixed wait is too short on a loaded machine.
counters='{__name__=~"request_total|istio_requests_total"}'
series="" young=""
for _ in $(seq 1 240); do
  series=$(prometheus_value "$prometheus_url" "count($counters)")
  young=$(prometheus_value "$prometheus_url" "count($counters unless $counters offset 13s)")
  [[ ${series:-0} -gt 0 && -z $young ]] && break
  sleep 0.25
done
if [[ ${series:-0} -eq 0 || -n $young ]]; then
  echo "run_e2e: after 60s, ${series:-0} request series, ${young:-0} of them younger than 13s" >&2
  exit 1
fi

# SMI_E2E_LONGEST_WINDOW: the longest window, in seconds, the tests may ask for (default 60); a
# suite that needs no more waits less for the server's history in sidecar mode.
longest_window=${SMI_E2E_LONGEST_WINDOW:-60}
if [[ $source_mode == sidecars ]]; then
  # The server's history starts when it does, after Prometheus': wait until it holds the longest
  # window the tests ask for, ending 2s ago, with a margin.
  while (($(date +%s) - ready_at < longest_window + 5)); do
    kill -0 "$server_pid" 2>/dev/null || { echo "run_e2e: the server exited" >&2; exit 1; }
    sleep 0.25
  done
fi

export SMI_E2E_SERVER_PORT=$port
export SMI_E2E_SOURCE=$source_mode
export SMI_E2E_CA_FILE="$work/ca.crt"
export SMI_E2E_CLIENT_CERT="$work/client.crt"
export SMI_E2E_CLIENT_KEY="$work/client.key"
export SMI_E2E_KUBECONFIG="$work/kubeconfig"
export SMI_E2E_KUBECTL="$kubectl_bin --cache-dir $work/kube-cache"
export SMI_E2E_KUBECTL_BIN="$kubectl_bin"
export SMI_E2E_PROMETHEUS_URL="$prometheus_url"
export SMI_E2E_TOPOLOGY="$work/topology.json"
export SMI_E2E_KUBE="$kube_mode"
export SMI_E2E_SECOND_JOB="${SMI_E2E_SECOND_JOB:-}"
export SMI_E2E_LONGEST_WINDOW="$longest_window"
export SMI_E2E_KUBE_OBJECTS="$work/kube-objects.json"
[[ $kube_mode == fakekube ]] && export SMI_E2E_FAKEKUBE_CONTROL="$work/fakekube.ctl"
for test_bin in "${test_bins[@]}"; do
  harness_run_test "$test_bin" "$@"
done
harness_finish
