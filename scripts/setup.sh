#!/usr/bin/env bash
# Installs the Debian 12 packages this project needs to build, run the demo and run the tests.
# Idempotent and quick when everything is already there. Run as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format
  libcpp-httplib-dev libssl-dev openssl nlohmann-json3-dev prometheus-cpp-dev libboost-dev
  libyaml-cpp-dev libgtest-dev libgmock-dev
  clang libclang-rt-dev  # the fuzz targets (test/fuzz/): libFuzzer and the sanitizers' runtimes
  prometheus curl procps iproute2 wrk hyperfine
  nginx  # the benchmarks' yardstick (bench/serving.sh, slow_clients.sh)
  umoci jq  # the container image, offline (scripts/build-image.sh, test/deploy/image_test.sh)
  graphviz  # `kubectl traffic topology -o svg` draws with its dot
  python3-kubernetes  # the dynamic client's e2e test (test/kubectl/python_dynamic_client_test.py)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's prometheus and nginx packages enable system services; this project starts its own
# instances.
for service in prometheus nginx; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    systemctl stop "$service" || true
  fi
done
