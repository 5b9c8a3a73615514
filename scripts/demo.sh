#!/usr/bin/env bash
# Builds and starts the demo: a simulated Linkerd-meshed emojivoto app, a local Prometheus
# scraping it, and the SMI Traffic Metrics server reading that Prometheus. Ctrl-C stops it all.
# With --sidecars the server scrapes the simulated proxies itself (sidecar mode) and never asks
# Prometheus, which still runs on the same mesh so that the two modes' numbers can be compared.
set -euo pipefail
source_args=()
mode="from Prometheus"
for arg in "$@"; do
  case $arg in
    --sidecars) mode="from the sidecars (sidecar mode)" ;;
    *) echo "usage: scripts/demo.sh [--sidecars]" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${BUILD_DIR:-$root/build}"
demo="$root/.demo"

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target smi-metrics-server meshsim kubectl-traffic

mkdir -p "$demo"
"$root/tools/mesh-stack.sh" stop "$demo/stack" >/dev/null 2>&1 || true
rm -rf "$demo/stack"
server_pid=""
stop() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  "$root/tools/mesh-stack.sh" stop "$demo/stack" >/dev/null 2>&1 || true
  exit 0
}
trap stop INT TERM EXIT

MESHSIM="$build/tools/meshsim/meshsim" "$root/tools/mesh-stack.sh" start "$demo/stack" --scrape-interval 5s
prometheus_url=$(cat "$demo/stack/prometheus.url")
if [[ $mode == "from Prometheus" ]]; then
  source_args=(--prometheus-url "$prometheus_url")
else
  # The same interval as the demo's Prometheus.
  source_args=(--source sidecars --sidecar-interval 5s)
fi

port=${SMI_DEMO_PORT:-8443}
if ss -Htan "sport = :$port" | grep -q .; then
  # Below the ephemeral range (32768 and up), where no outgoing connection can take it.
  for p in $(shuf -i 20000-32000 -n 100); do ss -Htan "sport = :$p" | grep -q . || { port=$p; break; }; done
fi
"$build/smi-metrics-server" --bind-address 127.0.0.1 --secure-port "$port" \
  "${source_args[@]}" --write-kubeconfig "$demo/kubeconfig" \
  --kube-objects "$demo/stack/kube-objects.json" \
  >"$demo/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -skf "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$demo/server.log"; exit 1; }
  sleep 0.1
done

k="kubectl --kubeconfig .demo/kubeconfig"
b=/apis/metrics.smi-spec.io/v1alpha1
cat <<EOT

Prometheus: $prometheus_url
SMI Traffic Metrics API: https://127.0.0.1:$port, numbers $mode (log: .demo/server.log)

Try, from $root:
  $k get --raw $b
  $k get --raw $b/namespaces/emojivoto/deployments
  $k get --raw $b/namespaces/emojivoto/deployments/web
  $k get trafficmetrics -n emojivoto
  $k get trafficmetrics -n emojivoto -o wide -l app=web
  $k get trafficmetrics -A
  $k get trafficsplits.metrics.smi-spec.io -n emojivoto -o wide
  $k get --raw '$b/namespaces/emojivoto/pods?labelSelector=app%20in%20(web,voting)'
  $k get --raw $b/namespaces/emojivoto/deployments/web/edges
  $k get --raw '$b/namespaces/emojivoto/deployments/voting?window=1m'
  $k get --raw $b/namespaces/emojivoto/pods
  $k get --raw $b/pods
  $k get --raw $b/namespaces
  $k get --raw $b/namespaces/identity/deployments/auth/edges

kubectl traffic (the plugin kubectl-traffic, built in $build; kubectl finds it on the PATH):
  export PATH="$build:\$PATH"
  kubectl traffic top deployments -n emojivoto --kubeconfig .demo/kubeconfig
  kubectl traffic top pods -A --sort-by rps --kubeconfig .demo/kubeconfig
  kubectl traffic edges deploy/web -n emojivoto --kubeconfig .demo/kubeconfig
  kubectl traffic topology -n emojivoto --kubeconfig .demo/kubeconfig
  kubectl traffic topology namespaces --kubeconfig .demo/kubeconfig
  kubectl traffic topology -A -o svg --kubeconfig .demo/kubeconfig > .demo/mesh.svg
  kubectl traffic top deployments -n emojivoto --watch --kubeconfig .demo/kubeconfig

Numbers fill in as the proxies are scraped (every 5s); the default window is 30s.
Press Ctrl-C to stop the demo.
EOT
wait "$server_pid"
