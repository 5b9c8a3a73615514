# shellcheck shell=bash
# shellcheck disable=SC2154 # root and bench_name are set by the caller
# Shared by the serving benchmarks (serving.sh, slow_clients.sh, soak.sh); sourced, not run.
# The caller sets `bench_name` and `root` (the repository), then calls, in order:
#   bench_build BUILD_DIR TARGET...   Release build with -DSMI_BUILD_BENCH=ON; sets `build`, `work`
#   bench_start_stack                 the simulated mesh and a Prometheus scraping it
#   bench_start_server                the server (sets server_port, server_pid) and its admin
#                                     client certificate in $work/client.{crt,key}, CA $work/ca.crt
#   bench_start_nginx                 optional (sets nginx_port, nginx_pid): nginx serving
#                                     $work/www over TLS, asking for a client certificate
# Everything started is stopped on exit; $work is removed unless the run failed.
#
# Environment: SMI_SERVER (a server binary to measure instead of the one built here; it gets the
# same flags), SERVER_ARGS (extra server flags, split on spaces), JOBS (build jobs, default 2).

work=""
bench_pids=()
server_pid="" server_port="" nginx_pid="" nginx_port=""

# free_port, random_address_base, prometheus_value.
# shellcheck source=../test/integration/harness_lib.sh
source "$root/test/integration/harness_lib.sh"
harness_name=$bench_name

bench_cleanup() {
  local rc=$? i
  for ((i = ${#bench_pids[@]} - 1; i >= 0; i--)); do  # the last started stops first
    { kill "${bench_pids[i]}" && wait "${bench_pids[i]}"; } 2>/dev/null || true
  done
  if [[ -n $work ]]; then
    "$root/tools/mesh-stack.sh" stop "$work" >/dev/null 2>&1 || true
    if [[ $rc -ne 0 ]]; then
      echo "$bench_name: failed (exit $rc); logs kept in $work" >&2
    else
      rm -rf "$work"
    fi
  fi
  exit "$rc"
}
trap bench_cleanup EXIT
# A signal ends the run like an error: the exit trap still stops what was started.
trap 'exit 130' INT TERM

bench_build() {
  build=$1
  shift
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSMI_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" -j"${JOBS:-2}" --target "$@" >&2
  build=$(cd "$build" && pwd)
  work=$(mktemp -d "${TMPDIR:-/tmp}/smi-$bench_name.XXXXXX")
}

bench_start_stack() {
  # Pod addresses of its own, so that a stack another run (the demo, e2e) started does not collide.
  MESHSIM="$build/tools/meshsim/meshsim" "$root/tools/mesh-stack.sh" start "$work" \
    --scrape-interval 1s --address-base "$(random_address_base)" >&2
  prometheus_url=$(cat "$work/prometheus.url")
}

# The server as the demo runs it (Kubernetes objects from the simulator, a kubeconfig with an
# admin client certificate), answers cached as by default: repeated requests within a second
# reuse the Prometheus answers, which is what a polling client sees. Returns once it is ready
# and the mesh's traffic has settled (every request series existed 10 s ago), so that answers
# have their full size.
bench_start_server() {
  local bin=${SMI_SERVER:-$build/smi-metrics-server} extra=()
  [[ -n ${SERVER_ARGS:-} ]] && read -ra extra <<<"$SERVER_ARGS"
  server_port=$(free_port)
  "$bin" --bind-address 127.0.0.1 --secure-port "$server_port" --prometheus-url "$prometheus_url" \
    --write-kubeconfig "$work/kubeconfig" --kube-objects "$work/kube-objects.json" \
    --cache-ttl 5s "${extra[@]}" >"$work/server.log" 2>&1 &
  server_pid=$!
  bench_pids+=("$server_pid")
  for _ in $(seq 1 300); do
    curl -skf "https://127.0.0.1:$server_port/readyz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "$bench_name: the server exited" >&2; exit 1; }
    sleep 0.1
  done
  curl -skf "https://127.0.0.1:$server_port/readyz" >/dev/null ||
    { echo "$bench_name: the server never became ready" >&2; exit 1; }
  local field
  for field in certificate-authority-data:ca.crt client-certificate-data:client.crt \
    client-key-data:client.key; do
    sed -n "s/^ *${field%%:*}: *//p" "$work/kubeconfig" | head -n1 | base64 -d >"$work/${field#*:}"
    [[ -s $work/${field#*:} ]] || { echo "$bench_name: no ${field%%:*} in the kubeconfig" >&2; exit 1; }
  done
  local counters='request_total' series="" young=""
  for _ in $(seq 1 240); do
    series=$(prometheus_value "$prometheus_url" "count($counters)")
    young=$(prometheus_value "$prometheus_url" "count($counters unless $counters offset 10s)")
    [[ ${series:-0} -gt 0 && -z $young ]] && break
    sleep 0.25
  done
  [[ ${series:-0} -gt 0 && -z $young ]] || { echo "$bench_name: no settled traffic after 60s" >&2; exit 1; }
}

# GET of PATH from the server with the admin certificate, into FILE; fails on a non-2xx answer.
bench_get() {
  curl -sSf --cacert "$work/ca.crt" --cert "$work/client.crt" --key "$work/client.key" \
    -o "$2" "https://127.0.0.1:$server_port$1"
}

# nginx serving the files under $work/www (as application/json) over TLS 1.2/1.3 with its own
# P-256 certificate (the server's key type), asking every client for a certificate
# (optional_no_ca: the client still proves it holds the key; the chain is not checked, as the
# server's client CA is not written anywhere), unlimited keep-alive, one worker per core.
bench_start_nginx() {
  command -v nginx >/dev/null || { echo "$bench_name: nginx is not installed (scripts/setup.sh)" >&2; exit 1; }
  local n=$work/nginx
  mkdir -p "$n/tmp"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$n/tls.key" -out "$n/tls.crt" 2>/dev/null
  nginx_port=$(free_port)
  {
    # Run as root, the workers would switch to an unprivileged user that cannot read $work.
    [[ $EUID -eq 0 ]] && echo "user root;"
    cat <<EOF
worker_processes auto;
worker_rlimit_nofile $(ulimit -Hn);
pid $n/nginx.pid;
error_log $n/error.log warn;
daemon off;
events { worker_connections $(($(ulimit -Hn) < 16384 ? $(ulimit -Hn) : 16384)); }
http {
  access_log off;
  client_body_temp_path $n/tmp/body;
  proxy_temp_path $n/tmp/proxy;
  fastcgi_temp_path $n/tmp/fastcgi;
  uwsgi_temp_path $n/tmp/uwsgi;
  scgi_temp_path $n/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  default_type application/json;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $n/tls.crt;
    ssl_certificate_key $n/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_verify_client optional_no_ca;
    root $work/www;
  }
}
EOF
  } >"$n/nginx.conf"
  nginx -e "$n/error.log" -c "$n/nginx.conf" >"$n/stdout.log" 2>&1 &
  nginx_pid=$!
  bench_pids+=("$nginx_pid")
  for _ in $(seq 1 100); do
    curl -sk -o /dev/null "https://127.0.0.1:$nginx_port/" 2>/dev/null && return 0
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$bench_name: nginx did not start:" >&2
  cat "$n/error.log" "$n/stdout.log" >&2
  exit 1
}

# Runs loadgen with its KEY=VALUE output into FILE, requesting the paths in the array named
# PATHS in turn: bench_loadgen FILE PORT CA PATHS [loadgen args...]. The client certificate is
# the server's admin certificate (presented to nginx too). Bounded twice: loadgen ends itself
# after --ramp + --duration; `timeout` is the safety net.
bench_loadgen() {
  local out=$1 port=$2 ca=$3 p urls=()
  local -n bench_paths_=$4
  shift 4
  for p in "${bench_paths_[@]}"; do urls+=(--url "https://127.0.0.1:$port$p"); done
  local rc=0
  timeout -k 5 "${LOADGEN_TIMEOUT:-900}" "$build/bench/loadgen" --output kv \
    --cert "$work/client.crt" --key "$work/client.key" --ca "$ca" "${urls[@]}" "$@" >"$out" || rc=$?
  ((rc == 0)) || { echo "$bench_name: loadgen failed or was stopped (exit $rc)" >&2; return 1; }
}

# A Markdown table's rule for columns of the given widths: the first left-aligned, the others
# right-aligned (numbers).
bench_rule() {
  local w line="|" first=1
  for w in "$@"; do
    if ((first)); then line+=$(printf -- '-%.0s' $(seq 1 $((w + 2))))"|"; first=0
    else line+=$(printf -- '-%.0s' $(seq 1 $((w + 1))))":|"; fi
  done
  echo "$line"
}

# The value of KEY in loadgen's KEY=VALUE output FILE.
kv() { sed -n "s/^$2=//p" "$1" | head -n1; }

# Resident memory (KiB) and open descriptors of process PID.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
open_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
