#!/usr/bin/env bash
# The image's root filesystem is self-contained: scripts/build-image.sh stages it from the server
# binary given, and the server then runs from it under chroot (nothing of this machine's /usr
# reachable), as the image's unprivileged user 65532: --version, then serving /healthz, /readyz
# with an unreachable Prometheus (ready: decision 14), discovery and a metrics request (a 503
# Status naming Prometheus) with the client certificate of the kubeconfig it writes into /tmp.
# When umoci is there, the OCI image is assembled too and its configuration checked.
#
# usage: image_test.sh SERVER_BINARY. Exit 77 (skipped) where chroot is not permitted.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${1:?usage: image_test.sh SERVER_BINARY}

work=$(mktemp -d "${TMPDIR:-/tmp}/smi-image.XXXXXX")
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "image_test: FAIL: $*" >&2; exit 1; }
skip() { echo "image_test: SKIPPED: $*" >&2; exit 77; }

bash "$root/scripts/build-image.sh" --binary "$binary" --out "$work/image" --stage-only
rootfs=$work/image/rootfs

# What is in it: the server, its libraries and loader, certificates, users; no shell, no tools.
[[ -x $rootfs/usr/bin/smi-metrics-server ]] || fail "no /usr/bin/smi-metrics-server"
[[ -s $rootfs/etc/ssl/certs/ca-certificates.crt ]] || fail "no CA certificates"
grep -q '^nonroot:x:65532:65532:' "$rootfs/etc/passwd" || fail "no user 65532 in /etc/passwd"
grep -q '^nonroot:x:65532:' "$rootfs/etc/group" || fail "no group 65532 in /etc/group"
for tool in bin/sh usr/bin/sh bin/bash usr/bin/env; do
  [[ ! -e $rootfs/$tool ]] || fail "/$tool is in the image"
done
interpreter=$(readelf -l "$binary" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[[ -e $rootfs$interpreter ]] || fail "the loader $interpreter is not in the image"
echo "image_test: rootfs $(du -sh --apparent-size "$rootfs" | cut -f1), files:"
(cd "$rootfs" && find . -type f -printf '  %p %s\n' | sort)

# ---- under chroot --------------------------------------------------------------------------------
[[ $(id -u) == 0 ]] || skip "chroot needs root"
if ! version=$(chroot --userspec=65532:65532 "$rootfs" /usr/bin/smi-metrics-server --version 2>"$work/chroot.err"); then
  if grep -qi 'operation not permitted\|cannot change root' "$work/chroot.err"; then
    skip "chroot is not permitted here: $(cat "$work/chroot.err")"
  fi
  fail "--version under chroot: $(cat "$work/chroot.err")"
fi
expected=$(sed -n 's/^project(smi-metrics-server VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
[[ $version == "smi-metrics-server $expected" ]] || fail "--version said \"$version\""
echo "image_test: under chroot as 65532: $version"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=""
for p in $(shuf -i 20000-32000 -n 50); do port_free "$p" && { port=$p; break; }; done
[[ -n $port ]] || fail "no free port"
prom_port=""
for p in $(shuf -i 20000-32000 -n 50); do [[ $p != "$port" ]] && port_free "$p" && { prom_port=$p; break; }; done
prometheus=http://127.0.0.1:$prom_port  # nothing listens there

chroot --userspec=65532:65532 "$rootfs" /usr/bin/smi-metrics-server \
  --bind-address=127.0.0.1 --secure-port="$port" --prometheus-url="$prometheus" \
  --write-kubeconfig=/tmp/kubeconfig >"$work/server.log" 2>&1 &
server_pid=$!
url=https://127.0.0.1:$port
for _ in $(seq 1 300); do
  curl -sk --max-time 2 "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited: $(cat "$work/server.log")"
  sleep 0.1
done
[[ $(curl -sk --max-time 5 "$url/healthz") == ok ]] || fail "/healthz: $(cat "$work/server.log")"
echo "image_test: /healthz ok from the chroot"

# Ready although Prometheus is unreachable; the verbose answer says so once the check has run.
code=$(curl -sk --max-time 5 -o "$work/readyz" -w '%{http_code}' "$url/readyz")
[[ $code == 200 && $(cat "$work/readyz") == ok ]] || fail "/readyz: $code $(cat "$work/readyz")"
for _ in $(seq 1 300); do
  curl -sk --max-time 5 "$url/readyz?verbose" >"$work/verbose"
  grep -q '^\[-\]source failed (informational' "$work/verbose" && break
  sleep 0.1
done
grep -q '^\[-\]source failed (informational, not a readiness condition): .*127.0.0.1:'"$prom_port" "$work/verbose" ||
  fail "/readyz?verbose: $(cat "$work/verbose")"
grep -q '^readyz check passed$' "$work/verbose" || fail "/readyz?verbose: $(cat "$work/verbose")"
echo "image_test: /readyz 200 with Prometheus unreachable; verbose: $(grep source "$work/verbose")"

# The kubeconfig the server wrote (inside the chroot's /tmp): its admin client certificate.
kubeconfig=$rootfs/tmp/kubeconfig
[[ -s $kubeconfig ]] || fail "no kubeconfig written to /tmp"
field() { sed -n "s/^ *$1: *//p" "$kubeconfig" | head -n1 | base64 -d; }
field client-certificate-data >"$work/client.crt"
field client-key-data >"$work/client.key"
auth=(--cert "$work/client.crt" --key "$work/client.key")
code=$(curl -sk --max-time 5 "${auth[@]}" -o "$work/discovery" -w '%{http_code}' "$url/apis/metrics.smi-spec.io/v1alpha1")
[[ $code == 200 ]] && grep -q '"kind":"APIResourceList"' "$work/discovery" || fail "discovery: $code $(cat "$work/discovery")"
echo "image_test: discovery 200"
code=$(curl -sk --max-time 30 "${auth[@]}" -o "$work/metrics" -w '%{http_code}' \
  "$url/apis/metrics.smi-spec.io/v1alpha1/namespaces/emojivoto/deployments/web")
[[ $code == 503 ]] && grep -q '"reason":"ServiceUnavailable"' "$work/metrics" &&
  grep -q 'Prometheus' "$work/metrics" || fail "a metrics request: $code $(cat "$work/metrics")"
echo "image_test: a metrics request: 503 $(grep -o '"message":"[^"]*"' "$work/metrics")"
curl -sk --max-time 5 "${auth[@]}" "$url/metrics" >"$work/self-metrics"
grep -q '^smi_source_ready 0$' "$work/self-metrics" || fail "/metrics has no smi_source_ready 0"
echo "image_test: /metrics: $(grep '^smi_source_ready' "$work/self-metrics")"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""

# ---- the OCI image -------------------------------------------------------------------------------
if ! command -v umoci >/dev/null || ! command -v jq >/dev/null; then
  echo "image_test: umoci or jq missing: the OCI image was not assembled (staged root filesystem checked)"
  exit 0
fi
bash "$root/scripts/build-image.sh" --binary "$binary" --out "$work/image" --tag "localhost/smi-metrics-server:$expected"
layout=$work/image/oci
blob() { echo "$layout/blobs/${1%%:*}/${1#*:}"; }
manifest=$(jq -r --arg ref "$expected" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $ref) | .digest' "$layout/index.json")
[[ -n $manifest ]] || fail "no manifest tagged $expected in $layout/index.json"
config=$(jq -r '.config.digest' "$(blob "$manifest")")
layers=$(jq -r '.layers | length' "$(blob "$manifest")")
[[ $(jq -r '.config.User' "$(blob "$config")") == 65532:65532 ]] || fail "the image's user is not 65532:65532"
[[ $(jq -c '.config.Entrypoint' "$(blob "$config")") == '["/usr/bin/smi-metrics-server"]' ]] || fail "the image's entrypoint"
[[ $layers == 1 ]] || fail "$layers layers, expected 1"
# The layer holds exactly the staged files.
layer=$(jq -r '.layers[0].digest' "$(blob "$manifest")")
tar -tzf "$(blob "$layer")" | sed 's|^\./||; s|/$||' | grep -v '^\.\?$' | sort >"$work/layer.txt"
(cd "$rootfs" && find . -mindepth 1 | sed 's|^\./||' | sort) >"$work/staged.txt"
diff "$work/staged.txt" "$work/layer.txt" >/dev/null || fail "the layer differs from the staged files: $(diff "$work/staged.txt" "$work/layer.txt" | head)"
size=$(jq -r '[.layers[].size] | add' "$(blob "$manifest")")
echo "image_test: OCI image localhost/smi-metrics-server:$expected: 1 layer, $size bytes compressed, user 65532:65532"
